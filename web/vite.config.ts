// Vite configuration of the Parley web app.
//
// The dev server proxies the API and the WebSocket to a parleyd started
// separately (PARLEY_URL, default http://127.0.0.1:8080), so the app talks
// to the same origin in development as when parleyd serves the built files.
import { defineConfig } from 'vitest/config';

const target = process.env.PARLEY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    // The CSP forbids inline scripts and styles: never inline assets as
    // data: URLs into CSS/JS that would need them, and keep the module
    // preload polyfill out (it is an inline-free script, but unneeded).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': { target, changeOrigin: false },
      '/ws': { target: target.replace(/^http/, 'ws'), ws: true },
    },
  },
  // `vite preview` sends the Content-Security-Policy parleyd sends, so that a
  // violation shows up before the app is served by parleyd.
  preview: {
    headers: {
      'Content-Security-Policy':
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; " +
        "font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; base-uri 'none'; " +
        "form-action 'self'; frame-ancestors 'none'",
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
