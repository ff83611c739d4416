#!/usr/bin/env node
// Checks that docs/openapi.yaml describes exactly the routes parleyd registers.
//
//   node check_routes.mjs <path to parleyd> [<path to openapi.yaml>]
//
// Runs `parleyd --print-routes` (one "METHOD /path/{param}" per line) and
// compares it with the spec's operations. Path templates must match exactly,
// parameter names included. Prints every route missing from the spec and
// every spec operation the server does not register; exits 1 if there is
// any, 2 on a usage or setup error, 0 when the two agree.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const kMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function fail(message) {
  console.error(`check_routes: ${message}`);
  process.exit(2);
}

async function loadYamlParser() {
  try {
    return (await import('yaml')).parse;
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    fail(`the npm package 'yaml' is not installed in ${join(here, 'node_modules')}.\n` +
         'Run scripts/install-deps.sh (it runs `npm ci` in tests/openapi).');
  }
}

// "METHOD /path" lines from `parleyd --print-routes`. parleyd opens its data
// directory even to print routes, so it gets a throw-away one, and no
// PARLEY_* variables from the caller's environment.
function serverRoutes(parleyd) {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-routes-'));
  try {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PARLEY_')));
    const run = spawnSync(parleyd, ['--print-routes', '--data-dir', dataDir], { env, encoding: 'utf8' });
    if (run.error) fail(`cannot run ${parleyd}: ${run.error.message}`);
    if (run.status !== 0) fail(`${parleyd} --print-routes exited with ${run.status}:\n${run.stderr}`);
    const routes = run.stdout.split('\n').map((line) => line.trim()).filter((line) => line !== '');
    for (const route of routes) {
      if (!/^[A-Z]+ \/\S*$/.test(route)) fail(`unexpected line from --print-routes: '${route}'`);
    }
    if (routes.length === 0) fail(`${parleyd} --print-routes printed no routes`);
    return routes;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// "METHOD /path" for each operation in the spec.
function specOperations(parse, specPath) {
  let spec;
  try {
    spec = parse(readFileSync(specPath, 'utf8'));
  } catch (error) {
    fail(`cannot read ${specPath}: ${error.message}`);
  }
  if (spec === null || typeof spec !== 'object' || typeof spec.paths !== 'object' || spec.paths === null) {
    fail(`${specPath} has no 'paths' object`);
  }
  const operations = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    if (item === null || typeof item !== 'object') continue;
    for (const method of kMethods) {
      if (method in item) operations.push(`${method.toUpperCase()} ${path}`);
    }
  }
  return operations;
}

function duplicates(list) {
  return list.filter((entry, index) => list.indexOf(entry) !== index);
}

async function main() {
  const [parleyd, specArg] = process.argv.slice(2);
  if (!parleyd) fail('usage: node check_routes.mjs <path to parleyd> [<path to openapi.yaml>]');
  const specPath = resolve(specArg ?? join(here, '..', '..', 'docs', 'openapi.yaml'));
  const parse = await loadYamlParser();

  const routes = serverRoutes(parleyd);
  const operations = specOperations(parse, specPath);
  const inSpec = new Set(operations);
  const inServer = new Set(routes);
  const missing = routes.filter((route) => !inSpec.has(route));
  const extra = operations.filter((operation) => !inServer.has(operation));
  const repeated = duplicates(routes);

  for (const route of missing) console.error(`missing from the spec: ${route}`);
  for (const operation of extra) console.error(`in the spec but not registered by parleyd: ${operation}`);
  for (const route of repeated) console.error(`printed twice by parleyd: ${route}`);
  if (missing.length > 0 || extra.length > 0 || repeated.length > 0) {
    console.error(`check_routes: ${specPath} does not match the routes of ${parleyd} ` +
                  `(${missing.length} missing, ${extra.length} extra)`);
    process.exit(1);
  }
  console.log(`check_routes: all ${routes.length} routes of parleyd are in ${specPath}, and nothing else`);
}

await main();
