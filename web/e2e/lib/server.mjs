// A real parleyd for the browser tests: started on port 0 with a temporary
// data folder and the built web app as its web root, stopped at the end.
//
// The port is read from parleyd's `listening address=127.0.0.1:PORT` log line.
// `kill()` ends the process with SIGKILL (a crash, nothing flushed but what
// SQLite made durable) and `restart()` starts it again on the same port and
// data folder, so that pages keep their origin (IndexedDB, service worker).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The `web/` folder. */
export const webDir = path.resolve(here, '..', '..');

/** How long parleyd may take to listen on a loaded 2-core CI machine. */
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** The parleyd binary: `PARLEYD`, else the debug build beside `web/`. */
export function parleydPath() {
  const p = process.env.PARLEYD ?? path.join(webDir, '..', 'build', 'debug', 'server', 'parleyd');
  const resolved = path.resolve(webDir, p);
  if (!existsSync(resolved)) {
    throw new Error(`parleyd not found at ${resolved}: build it (cmake --build --preset debug --target parleyd) or set PARLEYD`);
  }
  return resolved;
}

/** The built web app: `PARLEY_WEB_ROOT`, else `web/dist`; it must hold index.html. */
export function webRootPath() {
  const root = path.resolve(webDir, process.env.PARLEY_WEB_ROOT ?? 'dist');
  if (!existsSync(path.join(root, 'index.html'))) {
    throw new Error(`the web app is not built: ${root}/index.html is missing (run npm run build in web/)`);
  }
  return root;
}

export class Parleyd {
  /**
   * @param {{webRoot?: string, config?: string, extraArgs?: string[]}} [options]
   *   webRoot defaults to webRootPath() (null: the API only, no web app);
   *   config to the e2e config beside this file.
   */
  constructor(options = {}) {
    this.binary = parleydPath();
    this.webRoot = options.webRoot === undefined ? webRootPath() : options.webRoot;
    this.config = options.config ?? path.join(here, 'parleyd-e2e.toml');
    this.extraArgs = options.extraArgs ?? [];
    this.dataDir = mkdtempSync(path.join(tmpdir(), 'parley-e2e-'));
    this.port = 0;
    this.child = null;
    this.log = '';
  }

  /** http://127.0.0.1:PORT, once started. */
  get baseURL() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts parleyd (on a free port the first time, on the same port after). */
  async start() {
    if (this.child) throw new Error('parleyd is already running');
    const args = [
      '--config', this.config,
      '--listen', `127.0.0.1:${this.port}`,
      '--data-dir', this.dataDir,
      ...(this.webRoot ? ['--web-root', this.webRoot] : []),
      '--threads', '2',
      ...this.extraArgs,
    ];
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    // A test run that ends abruptly must not leave a server behind.
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    let seen = '';
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`parleyd did not log "listening" within ${START_TIMEOUT_MS} ms:\n${seen}`)),
        START_TIMEOUT_MS,
      );
      const onData = (chunk) => {
        const text = chunk.toString();
        seen += text;
        this.log += text;
        const match = /listening address=127\.0\.0\.1:(\d+)/.exec(seen);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`parleyd exited (code ${code}, signal ${signal}) before listening:\n${seen}`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    this.port = port;
    return this;
  }

  /** Ends parleyd gracefully (SIGTERM) and waits for it. */
  async stop() {
    await this.#end('SIGTERM');
  }

  /** Ends parleyd at once (SIGKILL), as a crash or a pulled plug would. */
  async kill() {
    await this.#end('SIGKILL');
  }

  /** Starts parleyd again on the same port and data folder. */
  async restart() {
    await this.start();
  }

  /** Stops parleyd if running and deletes its data folder. */
  async dispose() {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async #end(signal) {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}
