#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled package (npm run build / nx run mi-bench:build).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('mmmi-bench: the package is not built yet; run `npx nx run mi-bench:build` (or `npm run build`) first');
  process.exit(2);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
