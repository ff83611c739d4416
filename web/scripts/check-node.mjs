// Stops the build with a clear message when Node.js is too old for Vite 7
// (which needs 20.19 or later), instead of an obscure syntax error later.
const [major, minor] = process.versions.node.split('.').map(Number);
const ok = (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major > 22;
if (!ok) {
  console.error(
    `parley web: Node.js ${process.versions.node} is too old; the web build needs Node.js 20.19+ or 22.12+ ` +
      '(Debian 12 ships 18: install a newer Node.js, see README.md).',
  );
  process.exit(1);
}
