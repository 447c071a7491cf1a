/**
 * A real OpenID provider for tests: oidc-provider 9 on 127.0.0.1 (port 0), with test
 * accounts and an interaction route that logs in the account the test chose and grants
 * what the client asked for — no login form, so tests (and the browser test) go straight
 * through the authorization code flow.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { createMemoryAdapter, type Adapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

/** A person at the provider: `sub` plus any claims (preferred_username, email, groups…). */
export interface TestAccount {
  sub: string;
  [claim: string]: unknown;
}

export interface TestClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

const CLAIMS = {
  openid: ['sub'],
  profile: ['preferred_username', 'name'],
  email: ['email', 'email_verified'],
  groups: ['groups'],
};

/** The provider's signing key (a fresh RSA key per provider; avoids the quick-start keys). */
function signingKey(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };
}

export class TestIdp {
  readonly accounts = new Map<string, TestAccount>();
  readonly clients = new Map<string, TestClient>();
  /** `sub` of the account the next interaction logs in. */
  loginAs: string | null = null;
  /** When set, the next interaction ends with `access_denied` (the person clicked "cancel"). */
  denyNext = false;
  /** Interactions served (logins + consents). */
  interactions = 0;
  /** Errors the provider reported (`server_error` events), for test diagnostics. */
  readonly errors: Error[] = [];
  private provider!: Provider;

  private constructor(private readonly server: http.Server, readonly issuer: string) {}

  /** Starts a provider on 127.0.0.1 with these accounts (the first is logged in by default). */
  static async start(accounts: TestAccount[] = []): Promise<TestIdp> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const idp = new TestIdp(server, `http://127.0.0.1:${port}`);
    for (const a of accounts) idp.accounts.set(a.sub, a);
    idp.loginAs = accounts[0]?.sub ?? null;
    idp.provider = idp.createProvider();
    idp.provider.on('server_error', (_ctx: unknown, err: unknown) => { idp.errors.push(err as Error); });
    const callback = idp.provider.callback();
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url?.startsWith('/interaction/')) void idp.interact(req, res);
      else callback(req, res);
    });
    return idp;
  }

  /** Registers (or replaces) a confidential client; may be called after start (clients are looked up per request). */
  registerClient(client: TestClient): void {
    this.clients.set(client.clientId, client);
  }

  /** Adds or replaces an account. */
  setAccount(account: TestAccount): void {
    this.accounts.set(account.sub, account);
  }

  /** Stops answering (a provider that is down): closes the listener and every connection. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private createProvider(): Provider {
    const memory = createMemoryAdapter(0);
    const clients = this.clients;
    // Clients come from the map at every lookup, so a test can register the hub's callback once it knows its port.
    const clientAdapter: Adapter = {
      async find(id: string) {
        const c = clients.get(id);
        return c && {
          client_id: c.clientId, client_secret: c.clientSecret, redirect_uris: c.redirectUris,
          grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic',
        };
      },
      async upsert() {}, async findByUid() { return undefined; }, async findByUserCode() { return undefined; },
      async consume() {}, async destroy() {}, async revokeByGrantId() {},
    };
    const accounts = this.accounts;
    return new Provider(this.issuer, {
      adapter: (model: string) => (model === 'Client' ? clientAdapter : memory(model)),
      jwks: { keys: [signingKey()] },
      cookies: { keys: [randomBytes(32).toString('hex')] },
      claims: CLAIMS,
      scopes: Object.keys(CLAIMS),
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
      pkce: { required: () => true },
      ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
      async findAccount(_ctx: unknown, sub: string) {
        const account = accounts.get(sub);
        return account && { accountId: sub, async claims() { return { ...account }; } };
      },
    });
  }

  /** The interaction route: logs in `loginAs`, then grants the requested scopes and claims. */
  private async interact(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const details = await this.provider.interactionDetails(req, res);
      this.interactions++;
      if (this.denyNext) {
        this.denyNext = false;
        await this.provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The person cancelled.' }, { mergeWithLastSubmission: false });
        return;
      }
      if (details.prompt.name === 'login') {
        if (!this.loginAs || !this.accounts.has(this.loginAs)) throw new Error('TestIdp: no account chosen (loginAs)');
        await this.provider.interactionFinished(req, res, { login: { accountId: this.loginAs } }, { mergeWithLastSubmission: false });
        return;
      }
      const accountId = details.session?.accountId;
      if (!accountId) throw new Error('TestIdp: consent without a session');
      const grant = details.grantId
        ? (await this.provider.Grant.find(details.grantId))!
        : new this.provider.Grant({ accountId, clientId: details.params.client_id });
      const missing = details.prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
      const grantId = await grant.save();
      await this.provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    } catch (err) {
      res.statusCode = 500;
      res.setHeader('content-type', 'text/plain');
      res.end(`TestIdp interaction failed: ${(err as Error).message}`);
    }
  }
}
