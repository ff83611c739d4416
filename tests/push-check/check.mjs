// Checks a Web Push message with an implementation independent of parleyd's:
// the body is decrypted by the http_ece package (RFC 8188/8291) and the VAPID
// JWT (RFC 8292) is verified with node:crypto.
//
//   node check.mjs keys
//       A new subscriber: {"p256dh","auth","private"} (base64url), as a
//       browser's PushSubscription would hold them, plus its private key.
//   node check.mjs check '<json>'
//       <json>: {"private","p256dh","auth"} of the subscriber, "body" (the
//       request body, base64), "authorization" (the header), "audience" (the
//       expected origin), "subject" (expected sub, "" for none),
//       "vapid_public_key" (expected k, base64url). Prints {"payload": ...}
//       (the decrypted JSON) or exits 1 naming what is wrong.
import crypto from 'node:crypto';
import ece from 'http_ece';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const fromB64url = (text) => Buffer.from(text, 'base64url');

function fail(message) {
  process.stderr.write(`push-check: ${message}\n`);
  process.exit(1);
}

function keys() {
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    p256dh: b64url(ecdh.getPublicKey()),
    auth: b64url(crypto.randomBytes(16)),
    private: b64url(ecdh.getPrivateKey()),
  };
}

function verifyJwt(authorization, { audience, subject, vapid_public_key: expectedKey }) {
  const match = /^vapid t=([A-Za-z0-9_\-.]+), k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!match) fail(`Authorization is not "vapid t=..., k=...": ${authorization}`);
  const [, token, k] = match;
  if (k !== expectedKey) fail(`k is ${k}, the server's key is ${expectedKey}`);
  const parts = token.split('.');
  if (parts.length !== 3) fail('the JWT has not three parts');
  const header = JSON.parse(fromB64url(parts[0]).toString('utf8'));
  if (header.alg !== 'ES256') fail(`alg is ${header.alg}`);
  const claims = JSON.parse(fromB64url(parts[1]).toString('utf8'));
  const point = fromB64url(k);
  if (point.length !== 65 || point[0] !== 4) fail('k is not an uncompressed P-256 point');
  const publicKey = crypto.createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33)) },
    format: 'jwk',
  });
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = fromB64url(parts[2]);
  if (signature.length !== 64) fail('the signature is not 64 bytes (r || s)');
  const ok = crypto.verify('sha256', signed, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  if (!ok) fail('the JWT signature does not verify');
  const now = Math.floor(Date.now() / 1000);
  if (claims.aud !== audience) fail(`aud is ${claims.aud}, expected ${audience}`);
  if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) fail(`exp ${claims.exp} is not within 24 h from now (${now})`);
  if ((claims.sub ?? '') !== subject) fail(`sub is ${claims.sub}, expected ${subject}`);
  return claims;
}

function check(input) {
  const claims = verifyJwt(input.authorization, input);
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.setPrivateKey(fromB64url(input.private));
  if (b64url(ecdh.getPublicKey()) !== input.p256dh) fail('private and p256dh do not match');
  let plaintext;
  try {
    plaintext = ece.decrypt(Buffer.from(input.body, 'base64'), {
      version: 'aes128gcm',
      privateKey: ecdh,
      authSecret: input.auth,
    });
  } catch (error) {
    fail(`cannot decrypt: ${error.message}`);
  }
  let payload;
  try {
    payload = JSON.parse(plaintext.toString('utf8'));
  } catch {
    fail(`the plaintext is not JSON: ${plaintext.toString('utf8')}`);
  }
  return { payload, claims };
}

const [command, arg] = process.argv.slice(2);
if (command === 'keys') {
  process.stdout.write(`${JSON.stringify(keys())}\n`);
} else if (command === 'check') {
  process.stdout.write(`${JSON.stringify(check(JSON.parse(arg)))}\n`);
} else {
  fail('usage: check.mjs keys | check <json>');
}
