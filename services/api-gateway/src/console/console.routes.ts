import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayAuth } from '../http/auth.js';
import { htmlPage } from '../http/page-headers.js';
import { type Asset, loadConsoleAssets } from './console-assets.js';

export interface ConsoleRoutesOptions {
  readonly auth: GatewayAuth;
  /** The console's own files; default the package's `console/` directory. */
  readonly assetsDir?: string;
}

/**
 * The web console: `/console/` is the page (a browser without a session goes to the login form
 * first), `/console/assets/*` its scripts and styles and `/console/vendor/*` xterm.js from
 * node_modules. Those hold no data, so they are served without a session: the login page uses the
 * stylesheet. Everything the console shows comes from the API under /v1, with the session cookie.
 */
export const consoleRoutes: FastifyPluginAsync<ConsoleRoutesOptions> = async (app, { auth, assetsDir }) => {
  const { page, assets, vendor } = await loadConsoleAssets(assetsDir);

  app.get('/console', { schema: { hide: true } }, (_request, reply) => reply.redirect('/console/', 301));
  app.get('/console/', { schema: { hide: true }, onRequest: auth.page }, (request, reply) =>
    send(request, htmlPage(reply), page),
  );
  for (const [prefix, files] of [
    ['assets', assets],
    ['vendor', vendor],
  ] as const) {
    app.get<{ Params: { file: string } }>(
      `/console/${prefix}/:file`,
      { schema: { hide: true } },
      (request, reply) => {
        const asset = files.get(request.params.file);
        if (!asset) return reply.callNotFound();
        return send(request, reply.header('x-content-type-options', 'nosniff').type(asset.type), asset);
      },
    );
  }
};

/** The asset, or 304 when the browser's copy is current; browsers revalidate every load. */
function send(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  reply.header('etag', asset.etag).header('cache-control', 'no-cache');
  if (request.headers['if-none-match'] === asset.etag) return reply.status(304).send();
  return reply.send(asset.body);
}
