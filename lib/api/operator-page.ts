/**
 * The operator page: `/` and its assets under `/ui/`, all shipped in the package (ui/ at the package root,
 * uPlot from the installed production dependency), so it works without internet. Served with a
 * Content-Security-Policy that allows no inline script or style and no other origin.
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';

interface Asset {
  file: string;
  contentType: string;
}

const UI_DIR = path.resolve(__dirname, '..', '..', '..', 'ui');

const ASSETS: Record<string, Asset> = {
  '/': { file: path.join(UI_DIR, 'index.html'), contentType: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: path.join(UI_DIR, 'app.js'), contentType: 'text/javascript; charset=utf-8' },
  '/ui/app.css': { file: path.join(UI_DIR, 'app.css'), contentType: 'text/css; charset=utf-8' },
  '/ui/uPlot.min.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), contentType: 'text/javascript; charset=utf-8' },
  '/ui/uPlot.min.css': { file: require.resolve('uplot/dist/uPlot.min.css'), contentType: 'text/css; charset=utf-8' },
};

export const PAGE_SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    + "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/** Whether `pathname` is one of the page's files. */
export function isPageAsset(pathname: string): boolean {
  return Object.hasOwn(ASSETS, pathname);
}

const cache = new Map<string, Buffer>();

/** Answers GET/HEAD of a page asset (405 for other methods). Files are read once and kept. */
export async function servePageAsset(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
    res.end('method not allowed');
    return;
  }
  const asset = ASSETS[pathname];
  let body = cache.get(asset.file);
  if (!body) {
    body = await fs.promises.readFile(asset.file);
    cache.set(asset.file, body);
  }
  res.writeHead(200, {
    ...PAGE_SECURITY_HEADERS,
    'Content-Type': asset.contentType,
    'Content-Length': body.length,
    'Cache-Control': 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
