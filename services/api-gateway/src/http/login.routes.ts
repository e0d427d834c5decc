import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';
import { type GatewayAuth, isSameOrigin, safeNext } from './auth.js';
import { escapeHtml, htmlPage } from './page-headers.js';

export interface LoginRoutesOptions {
  readonly auth: GatewayAuth;
}

const LoginBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 1024 }),
    next: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: false },
);

const FORM = 'application/x-www-form-urlencoded';

/**
 * The browser's way in: `GET /login` is a form asking for the API token, `POST /login` (the form,
 * or JSON `{"token","next"}`) checks it and sets the session cookie, then `303` to `next` (a path
 * on this gateway only), `POST /logout` expires the cookie. Programs keep using the bearer token.
 */
export const loginRoutes: FastifyPluginAsyncTypebox<LoginRoutesOptions> = async (app, { auth }) => {
  // Forms post url-encoded bodies; parsed here only, small, into a plain object.
  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 8192 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.get(
    '/login',
    {
      schema: {
        hide: true,
        querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 4096 })) }),
      },
    },
    async (request, reply) => {
      const next = safeNext(request.query.next);
      if (auth.hasSession(request)) return reply.redirect(next, 303);
      return htmlPage(reply).send(loginPage(next));
    },
  );

  app.post('/login', { schema: { hide: true, body: LoginBody } }, async (request, reply) => {
    refuseCrossSite(request);
    const next = safeNext(request.body.next);
    if (!auth.tokenMatches(request.body.token)) {
      if (isForm(request)) {
        return htmlPage(reply)
          .status(401)
          .send(loginPage(next, 'That is not the API token. Copy it from $LXR_HOME/api-token.'));
      }
      throw new GatewayError(
        ErrorCode.Unauthorized,
        'invalid token: log in with the token from $LXR_HOME/api-token (or LXR_TOKEN)',
      );
    }
    auth.signIn(request, reply);
    return reply.redirect(next, 303);
  });

  app.post('/logout', { schema: { hide: true } }, async (request, reply) => {
    refuseCrossSite(request);
    auth.signOut(request, reply);
    return reply.redirect('/login', 303);
  });
};

/**
 * Another site must not log a browser in or out. A request with neither `Origin` nor
 * `Sec-Fetch-Site` is not a browser's and passes: it has the token in hand anyway.
 */
function refuseCrossSite(request: FastifyRequest): void {
  const fromBrowser = request.headers.origin !== undefined || request.headers['sec-fetch-site'] !== undefined;
  if (fromBrowser && !isSameOrigin(request)) {
    throw new GatewayError(
      ErrorCode.CrossSiteRequest,
      `${request.url.split('?')[0]} was posted from another site (Origin ${request.headers.origin ?? 'missing'}); log in on the gateway's own page`,
    );
  }
}

const isForm = (request: FastifyRequest) => (request.headers['content-type'] ?? '').startsWith(FORM);

function loginPage(next: string, error?: string): string {
  const alert = error ? `<p class="login-error" role="alert">${escapeHtml(error)}</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · lxr</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/console.css">
</head>
<body class="login">
<main class="login-box">
<h1>lxr</h1>
<form method="post" action="/login">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus
 spellcheck="false" aria-describedby="token-help">
<p id="token-help" class="help">The token is in <code>$LXR_HOME/api-token</code> (<code>lxr up</code> prints where).</p>
<input type="hidden" name="next" value="${escapeHtml(next)}">
${alert}
<button type="submit">Log in</button>
</form>
</main>
</body>
</html>
`;
}
