// A local OpenID provider shaped like auth.openai.com, for loginkit's end-to-end tests.
//
//   node tests/provider/server.mjs --port 0 [--access-ttl 3600] [--no-codex-device] [--jwks-path P]
//
// --jwks-path serves the signing keys elsewhere than auth.openai.com's /.well-known/jwks.json
// (e.g. oidc-provider's own default, /jwks); discovery announces the path either way.
//
// --no-codex-device starts with Codex's device endpoints answering 404; a running server is
// switched with POST /__test/codex-device {"enabled": false|true}.
//
// It binds 127.0.0.1 only and, once listening, prints exactly one JSON line on stdout:
//   {"ready":true,"issuer":"http://127.0.0.1:PORT","port":PORT}
// Everything else (oidc-provider notices, warnings, errors) goes to stderr.
//
// It is a real oidc-provider (panva) with the quirks of auth.openai.com added in front of it by
// one Koa middleware: JSON token requests, the API-key token exchange, Codex's device-code
// endpoints, and fault injection / counters under /__test/ for the tests.

import crypto from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

// oidc-provider prints its notices with console.info/console.log, i.e. on stdout. Send them to
// stderr before the library is even loaded (hence the dynamic import below) so that stdout
// carries only the ready line.
console.log = console.error;
console.info = console.error;

// Start-up milestones on stderr (the harness shows stderr only when the start fails), so a slow
// start says which step was slow.
// performance.now() counts from the process's start.
const milestone = (what) => process.stderr.write(`provider start: ${what} at ${Math.round(performance.now())} ms\n`);
const { default: Provider, errors } = await import('oidc-provider');
milestone('oidc-provider imported');

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'access-ttl': { type: 'string', default: '3600' },
    'no-codex-device': { type: 'boolean', default: false },
    'jwks-path': { type: 'string', default: '/.well-known/jwks.json' },
  },
});
const accessTtl = Number.parseInt(args['access-ttl'], 10);
if (!Number.isInteger(accessTtl) || accessTtl <= 0) throw new Error('--access-ttl must be > 0');

// Listen first: the issuer must contain the real port, which is only known after binding when
// --port 0 asks for an ephemeral one.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number.parseInt(args.port, 10), '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;
milestone(`listening on ${port}`);

const CODEX_CLIENT_ID = 'app_EMoamEEZ73f0CkXaXp7hrann';
const AUTH_CLAIM = 'https://api.openai.com/auth';
const PROFILE_CLAIM = 'https://api.openai.com/profile';
// The API audience of auth.openai.com's access tokens. Every grant gets it (defaultResource), so
// the access token is always a JWT for it, without the client ever sending `resource`.
const API_RESOURCE = 'https://api.openai.com/v1';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

// A fresh RS256 key per run (oidc-provider's built-in dev keys would print a warning). The
// public half also verifies the subject token of the API-key exchange.
const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'loginkit-test', use: 'sig', alg: 'RS256' };
milestone('signing key generated');

// Native public clients: loopback redirect URIs registered without a port accept any port
// (RFC 8252 7.3; oidc-provider does this only for application_type "native").
const clientMetadata = (clientId) => ({
  client_id: clientId,
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
  response_types: ['code'],
  redirect_uris: [
    'http://localhost/auth/callback',
    'http://127.0.0.1/auth/callback',
    'http://[::1]/auth/callback',
    // Where Codex's device flow says its server-made code was issued (spec 6, step 5).
    `${issuer}/deviceauth/callback`,
  ],
});
const knownClients = new Set([CODEX_CLIENT_ID, 'generic-cli']);

// Any login name L is an account: sub = L, with the claims auth.openai.com puts in its tokens.
function accountClaims(login) {
  const email = `${login}@example.com`;
  return {
    sub: login,
    email,
    email_verified: true,
    name: login,
    [AUTH_CLAIM]: {
      chatgpt_account_id: `org-${login}`,
      chatgpt_plan_type: 'plus',
      chatgpt_user_id: `user-${login}`,
      organization_id: `org-${login}`,
      project_id: `proj-${login}`,
      completed_platform_onboarding: true,
      is_org_owner: false,
    },
    [PROFILE_CLAIM]: { email, email_verified: true },
  };
}

const provider = new Provider(issuer, {
  clients: [...knownClients].map(clientMetadata),
  jwks: { keys: [signingJwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  async findAccount(_ctx, sub) {
    return { accountId: sub, claims: async () => accountClaims(sub) };
  },
  // The custom claims ride on the `openid` scope so every ID token has them. Without
  // conformIdTokenClaims: false a code-flow ID token would carry only `sub`.
  claims: {
    openid: ['sub', AUTH_CLAIM, PROFILE_CLAIM],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  conformIdTokenClaims: false,
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  responseTypes: ['code'],
  // Codex adds these to its authorize URL; declare them so they are kept, not dropped.
  extraParams: ['id_token_add_organizations', 'codex_cli_simplified_flow', 'originator', 'allowed_workspace_id'],
  pkce: { required: () => true }, // S256 is the only method oidc-provider 9 offers
  // auth.openai.com issues refresh tokens without prompt=consent (oidc-provider would otherwise
  // drop offline_access), and they do not die with the browser session.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  expiresWithSession: async () => false,
  rotateRefreshToken: () => true, // a reused old refresh token gets 400 invalid_grant
  ttl: {
    AccessToken: accessTtl,
    AuthorizationCode: 600,
    DeviceCode: 900,
    Grant: 14 * 24 * 3600,
    IdToken: 3600,
    Interaction: 3600,
    RefreshToken: 30 * 24 * 3600,
    Session: 14 * 24 * 3600,
  },
  extraTokenClaims: async (_ctx, token) => {
    if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
    const { [AUTH_CLAIM]: auth, [PROFILE_CLAIM]: profile } = accountClaims(token.accountId);
    return { [AUTH_CLAIM]: auth, [PROFILE_CLAIM]: profile };
  },
  routes: {
    authorization: '/oauth/authorize',
    token: '/oauth/token',
    jwks: args['jwks-path'],
    userinfo: '/userinfo',
    revocation: '/oauth/revoke',
    device_authorization: '/oauth/device/auth',
    code_verification: '/codex/device',
    end_session: '/oauth/logout',
  },
  features: {
    devInteractions: { enabled: true }, // any login name and password; a consent page follows
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => (oneOf ? oneOf[0] : API_RESOURCE),
      useGrantedResource: async () => true, // code and refresh exchanges need no `resource`
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== API_RESOURCE) throw new errors.InvalidTarget();
        return {
          scope: 'api.connectors.read api.connectors.invoke',
          audience: API_RESOURCE,
          accessTokenTTL: accessTtl,
          accessTokenFormat: 'jwt', // Codex reads claims (and exp) from the access token
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
});

// ---------------------------------------------------------------------------------------------
// Test state: counters and the one pending fault (see POST /__test/fault).
const newStats = () => ({
  token_requests: 0, refresh_requests: 0, refresh_errors: 0, code_exchanges: 0, api_key_exchanges: 0,
});
let stats = newStats();
let fault = null;
let codexDeviceEnabled = !args['no-codex-device'];
const FAULT_KINDS = new Set(['none', 'status', 'garbage', 'stall', 'reset', 'redirect']);

function takeFault(grantType) {
  if (!fault || (fault.grant_type && fault.grant_type !== grantType)) return null;
  const taken = fault;
  fault.count -= 1;
  if (fault.count <= 0) fault = null;
  return taken;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function reply(ctx, status, body) {
  ctx.status = status;
  ctx.body = body; // objects become JSON
}

async function readJson(ctx) {
  try {
    const value = JSON.parse(await readBody(ctx.req));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch { /* fall through */ }
  return null;
}

const isLoopback = (address) => /^(127\.|::1$|::ffff:127\.)/.test(address ?? '');
const b64url = (buf) => Buffer.from(buf).toString('base64url');

// Answer (or drop) a token request as the pending fault says.
async function applyFault(ctx, f) {
  switch (f.kind) {
    case 'status':
      ctx.status = f.status ?? 500;
      ctx.type = f.content_type ?? 'application/json';
      ctx.body = f.body ?? JSON.stringify({ error: 'server_error', error_description: 'injected fault' });
      return;
    case 'garbage':
      ctx.status = 200;
      ctx.type = f.content_type ?? 'text/html';
      ctx.body = f.body ?? '<html><body>502 Bad Gateway (injected, not JSON)</body></html>';
      return;
    case 'redirect':
      ctx.status = 302;
      ctx.set('Location', '/oauth/token2');
      ctx.body = '';
      return;
    case 'stall':
      // Take the response away from Koa; hold the connection, then close it with no answer.
      ctx.respond = false;
      await new Promise((resolve) => { setTimeout(resolve, (f.seconds ?? 10) * 1000); });
      ctx.req.socket.destroy();
      return;
    case 'reset':
      ctx.respond = false;
      // resetAndDestroy sends a TCP RST (SO_LINGER 0) instead of a FIN.
      if (typeof ctx.req.socket.resetAndDestroy === 'function') ctx.req.socket.resetAndDestroy();
      else ctx.req.socket.destroy();
      return;
    default:
      throw new Error(`unknown fault kind ${f.kind}`);
  }
}

// The payload of a JWT that this provider signed (ID or access token), else null.
function verifyOwnJwt(token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url'));
    if (header.alg !== 'RS256') return null;
    const ok = crypto.verify(
      'sha256', Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, Buffer.from(parts[2], 'base64url'),
    );
    if (!ok) return null;
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url'));
    return payload.iss === issuer ? payload : null;
  } catch {
    return null;
  }
}

// API-key token exchange (Codex spec 3.11): an ID token of ours buys an API key.
function apiKeyExchange(ctx, params) {
  stats.api_key_exchanges += 1;
  if (params.requested_token !== 'openai-api-key' || params.subject_token_type !== ID_TOKEN_TYPE) {
    return reply(ctx, 400, { error: 'invalid_request', error_description: 'unsupported token exchange' });
  }
  if (!knownClients.has(params.client_id)) {
    return reply(ctx, 400, { error: 'invalid_client', error_description: 'unknown client_id' });
  }
  if (!verifyOwnJwt(params.subject_token)) {
    return reply(ctx, 400, { error: 'invalid_grant', error_description: 'subject_token is not a valid id_token' });
  }
  return reply(ctx, 200, { access_token: `sk-proj-test-${b64url(crypto.randomBytes(18))}` });
}

// POST /oauth/token, before oidc-provider sees it: count, maybe inject a fault, answer the
// token exchange, and turn a JSON body into a form body (auth.openai.com takes JSON refresh
// requests; oidc-provider parses only forms).
async function tokenEndpoint(ctx, next) {
  const raw = await readBody(ctx.req);
  let params;
  let form = raw;
  if (ctx.is('application/json')) {
    try { params = JSON.parse(raw); } catch { params = null; }
    if (!params || typeof params !== 'object' || Array.isArray(params)) {
      stats.token_requests += 1;
      return reply(ctx, 400, { error: 'invalid_request', error_description: 'body is not a JSON object' });
    }
    const pairs = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (item !== null && item !== undefined) pairs.append(key, typeof item === 'string' ? item : JSON.stringify(item));
      }
    }
    form = pairs.toString();
  } else {
    params = Object.fromEntries(new URLSearchParams(raw));
  }

  const grantType = params.grant_type;
  stats.token_requests += 1;
  if (grantType === 'authorization_code') stats.code_exchanges += 1;
  if (grantType === 'refresh_token') stats.refresh_requests += 1;

  const f = takeFault(grantType);
  if (f) {
    if (grantType === 'refresh_token' && f.kind !== 'garbage') stats.refresh_errors += 1;
    return applyFault(ctx, f);
  }
  if (grantType === TOKEN_EXCHANGE_GRANT) return apiKeyExchange(ctx, params);

  // The body stream is consumed; oidc-provider then falls back to req.body (documented, it
  // warns once on stderr). A string body is parsed as a form.
  ctx.req.headers['content-type'] = 'application/x-www-form-urlencoded';
  ctx.req.body = form;
  await next();
  if (grantType === 'refresh_token' && ctx.status >= 400) stats.refresh_errors += 1;
  return undefined;
}

// /__test/* control endpoints (loopback only; the server binds 127.0.0.1 anyway).
async function testControl(ctx) {
  if (!isLoopback(ctx.req.socket.remoteAddress)) return reply(ctx, 403, { error: 'forbidden' });
  const route = `${ctx.method} ${ctx.path}`;
  if (route === 'GET /__test/stats') return reply(ctx, 200, stats);
  if (route === 'POST /__test/reset-stats') {
    stats = newStats();
    return reply(ctx, 200, stats);
  }
  if (route === 'POST /__test/fault') {
    const body = await readJson(ctx);
    if (!body || !FAULT_KINDS.has(body.kind)) {
      return reply(ctx, 400, { error: `kind must be one of ${[...FAULT_KINDS].join(', ')}` });
    }
    fault = body.kind === 'none' ? null : { count: 1, ...body };
    return reply(ctx, 200, { fault });
  }
  if (route === 'POST /__test/codex-device') {
    const body = await readJson(ctx);
    if (!body || typeof body.enabled !== 'boolean') {
      return reply(ctx, 400, { error: 'enabled must be true or false' });
    }
    codexDeviceEnabled = body.enabled;
    return reply(ctx, 200, { enabled: codexDeviceEnabled });
  }
  return reply(ctx, 404, { error: 'not_found' });
}

// ---------------------------------------------------------------------------------------------
// Codex's own device-code API (spec 6), layered on the standard device flow: the user approves
// the user_code at /codex/device (oidc-provider's page), then the poll answers with an
// authorization code that this server mints together with its PKCE pair, which the client
// exchanges at /oauth/token with redirect_uri {issuer}/deviceauth/callback.
const deviceAuths = new Map(); // device_auth_id -> { deviceCode, userCode, clientId }
const CODEX_SCOPE = 'openid profile email offline_access api.connectors.read api.connectors.invoke';

async function codexDevice(ctx) {
  if (!codexDeviceEnabled) return reply(ctx, 404, { error: 'not_found' });
  if (ctx.method !== 'POST') return reply(ctx, 405, { error: 'method_not_allowed' });
  const body = await readJson(ctx);
  if (!body) return reply(ctx, 400, { error: 'invalid_request', error_description: 'JSON object body required' });

  if (ctx.path === '/api/accounts/deviceauth/usercode') {
    if (!knownClients.has(body.client_id)) return reply(ctx, 400, { error: 'invalid_client' });
    // Ask our own device authorization endpoint, so the code is a real oidc-provider one.
    const res = await fetch(`${issuer}/oauth/device/auth`, {
      method: 'POST',
      body: new URLSearchParams({ client_id: body.client_id, scope: CODEX_SCOPE }),
    });
    const started = await res.json();
    if (!res.ok) return reply(ctx, 502, started);
    const deviceAuthId = `deviceauth_${b64url(crypto.randomBytes(12))}`;
    deviceAuths.set(deviceAuthId, {
      deviceCode: started.device_code, userCode: started.user_code, clientId: body.client_id,
    });
    return reply(ctx, 200, { device_auth_id: deviceAuthId, user_code: started.user_code, interval: '1' });
  }

  if (ctx.path === '/api/accounts/deviceauth/token') {
    const entry = deviceAuths.get(body.device_auth_id);
    if (!entry || entry.userCode !== body.user_code) {
      return reply(ctx, 400, { error: 'invalid_request', error_description: 'unknown device_auth_id' });
    }
    const dc = await provider.DeviceCode.find(entry.deviceCode, { ignoreExpiration: true });
    if (!dc || dc.isExpired) {
      deviceAuths.delete(body.device_auth_id);
      return reply(ctx, 410, { error: 'expired_token' });
    }
    if (dc.error) return reply(ctx, 400, { error: dc.error, error_description: dc.errorDescription });
    if (!dc.accountId || !dc.grantId) {
      return reply(ctx, 403, { error: { code: 'deviceauth_authorization_pending', message: 'pending' } });
    }
    // Approved: mint a one-time authorization code bound to a server-made PKCE pair.
    deviceAuths.delete(body.device_auth_id);
    await dc.consume();
    const verifier = b64url(crypto.randomBytes(64));
    const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
    const code = new provider.AuthorizationCode({
      accountId: dc.accountId,
      grantId: dc.grantId,
      client: await provider.Client.find(entry.clientId),
      scope: dc.scope,
      resource: dc.resource,
      claims: dc.claims,
      acr: dc.acr,
      amr: dc.amr,
      authTime: dc.authTime,
      expiresWithSession: false,
      redirectUri: `${issuer}/deviceauth/callback`,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
    });
    return reply(ctx, 200, {
      authorization_code: await code.save(), code_challenge: challenge, code_verifier: verifier,
    });
  }
  return reply(ctx, 404, { error: 'not_found' });
}

// oidc-provider's userinfo endpoint takes only opaque access tokens without an audience, but
// every access token here is a JWT for the API (as at auth.openai.com). Answer userinfo for
// those ourselves so generic OIDC clients can still call it; anything else goes to the library
// (which answers 401 invalid_token).
function jwtUserinfo(ctx) {
  const [scheme, token] = (ctx.get('authorization') || '').split(' ');
  const claims = scheme?.toLowerCase() === 'bearer' ? verifyOwnJwt(token) : null;
  if (!claims || claims.aud !== API_RESOURCE || claims.exp * 1000 <= Date.now()) return false;
  ctx.set('Cache-Control', 'no-store');
  reply(ctx, 200, accountClaims(claims.sub));
  return true;
}

provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/__test/')) return testControl(ctx);
  if (ctx.path === '/userinfo' && jwtUserinfo(ctx)) return undefined;
  if (ctx.path.startsWith('/api/accounts/deviceauth/')) return codexDevice(ctx);
  if (ctx.method === 'POST' && ctx.path === '/oauth/token') return tokenEndpoint(ctx, next);
  return next();
});

provider.on('server_error', (_ctx, err) => console.error('server_error', err));
server.on('request', provider.callback());

// The test harness stops us with SIGTERM: drop open (e.g. stalled) connections and exit 0.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.closeAllConnections();
    process.exit(0);
  });
}

milestone('ready');
process.stdout.write(`${JSON.stringify({ ready: true, issuer, port })}\n`);
