// Runs after `vite build`:
// 1. writes the list of hashed assets into dist/sw.js, so the service worker
//    caches the whole shell at install (and changes whenever the app does);
// 2. writes FILE.gz beside every compressible file of dist/, so that parleyd
//    serves the precompressed copy to clients that accept gzip.
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join, extname, relative } from 'node:path';
import { gzipSync, constants } from 'node:zlib';
import { createHash } from 'node:crypto';

const root = new URL('../dist/', import.meta.url).pathname;

function files(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const assets = files(join(root, 'assets'))
  .filter((p) => !p.endsWith('.gz'))
  .map((p) => '/' + relative(root, p))
  .sort();
const version = createHash('sha256').update(assets.join('\n')).digest('hex').slice(0, 12);
const swPath = join(root, 'sw.js');
const sw = readFileSync(swPath, 'utf8')
  .replace('/*ASSETS*/ []', JSON.stringify(assets))
  .replace("/*VERSION*/ 'dev'", JSON.stringify(version));
writeFileSync(swPath, sw);

const compressible = new Set(['.js', '.css', '.svg', '.html', '.json', '.webmanifest', '.txt']);
let count = 0;
for (const path of files(root)) {
  if (!compressible.has(extname(path))) continue;
  writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: constants.Z_BEST_COMPRESSION }));
  count++;
}
console.log(`postbuild: ${assets.length} assets in sw.js (version ${version}), ${count} .gz files`);
