// Writes FILE.gz beside every compressible file of dist/ so that parleyd can
// serve the precompressed copy to clients that accept gzip, without
// compressing on every request.
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { gzipSync, constants } from 'node:zlib';

const root = new URL('../dist/', import.meta.url).pathname;
const compressible = new Set(['.js', '.css', '.svg', '.html', '.json', '.webmanifest', '.txt']);

let count = 0;
function walk(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path);
    else if (compressible.has(extname(entry))) {
      const gz = gzipSync(readFileSync(path), { level: constants.Z_BEST_COMPRESSION });
      writeFileSync(`${path}.gz`, gz);
      count++;
    }
  }
}
walk(root);
console.log(`gzip-dist: wrote ${count} .gz files`);
