import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/** URL prefix -> built folder. The SDK and the web app are built by `npm run build`. */
const mounts: Array<{ prefix: string; root: string }> = [
  { prefix: '/sdk/', root: fileURLToPath(new URL('../../../client/dist/', import.meta.url)) },
  { prefix: '/', root: fileURLToPath(new URL('../../../web/dist/', import.meta.url)) },
];

/** Serves the built SDK and web app; never a file outside their folders. */
export class StaticFiles {
  async serve(urlPath: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const file = resolveFile(urlPath);
    const info = file === undefined ? undefined : await stat(file).catch(() => undefined);
    if (file === undefined || info === undefined || !info.isFile()) {
      const notBuilt = urlPath === '/' || urlPath === '/sdk/parley.js';
      response.writeHead(notBuilt ? 503 : 404, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(notBuilt ? 'not built: run `npm run build` (npm start does it for you)\n' : 'not found\n');
      return;
    }
    response.writeHead(200, {
      'content-type': contentTypes[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      // Built assets change with every build and are small: always revalidate.
      'cache-control': 'no-cache',
      ...(urlPath.startsWith('/sdk/') ? { 'access-control-allow-origin': '*' } : {}),
    });
    if (request.method === 'HEAD') return void response.end();
    createReadStream(file)
      .on('error', () => response.destroy())
      .pipe(response);
  }
}

function resolveFile(urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const mount = mounts.find((m) => decoded.startsWith(m.prefix));
  if (!mount) return undefined;
  const relative = decoded.slice(mount.prefix.length) || 'index.html';
  const file = normalize(join(mount.root, relative));
  return file.startsWith(mount.root.endsWith(sep) ? mount.root : mount.root + sep) ? file : undefined;
}
