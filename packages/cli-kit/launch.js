// The launcher of every mmmi bin file (`await launch('mmmi-x', import.meta.url)`): runs the
// package's compiled CLI (dist/cli.js, its `main`) on the command line's tokens, or says how to
// build it. Plain JavaScript, so that it runs before anything is built.
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `name`: the command (e.g. 'mmmi-fid'); `binUrl`: the bin file's import.meta.url (in <package>/bin/). */
export async function launch(name, binUrl) {
  const cli = new URL('../dist/cli.js', binUrl);
  if (!existsSync(fileURLToPath(cli))) {
    const project = basename(dirname(dirname(fileURLToPath(binUrl))));
    console.error(`${name}: the package is not built yet; run \`npx nx run ${project}:build\` (or \`npm run build\`) first`);
    process.exit(2);
  }
  const { main } = await import(cli.href);
  process.exitCode = await main(process.argv.slice(2));
}
