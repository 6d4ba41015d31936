// Builds what the server serves to browsers: the SDK (/sdk/parley.js) and the web app (/).
// The web app loads the SDK from /sdk/parley.js at run time instead of bundling a second copy.
import { build } from 'esbuild';
import { cp, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: true, logLevel: 'warning' };

const sdkFromServer = {
  name: 'sdk-from-server',
  setup(b) {
    b.onResolve({ filter: /^@parley\/client$/ }, () => ({ path: '/sdk/parley.js', external: true }));
  },
};

await rm(`${root}packages/client/dist`, { recursive: true, force: true });
await rm(`${root}packages/web/dist`, { recursive: true, force: true });
await build({ ...common, entryPoints: [`${root}packages/client/src/index.ts`], outfile: `${root}packages/client/dist/parley.js` });
await build({ ...common, entryPoints: [`${root}packages/web/src/app.ts`], outfile: `${root}packages/web/dist/app.js`, plugins: [sdkFromServer] });
await mkdir(`${root}packages/web/dist`, { recursive: true });
await cp(`${root}packages/web/public`, `${root}packages/web/dist`, { recursive: true });
