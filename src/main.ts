import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Authenticator } from './access/authenticator.ts';
import { ensureAdmin } from './access/bootstrap.ts';
import { ConfigurationService } from './access/configuration-service.ts';
import { PermissionEvaluator } from './access/evaluator.ts';
import { GroupService } from './access/group-service.ts';
import { LdapDirectory } from './access/ldap-directory.ts';
import { MemberService } from './access/member-service.ts';
import { PermissionListing } from './access/permission-listing.ts';
import { ProjectDirectory } from './access/project-directory.ts';
import { ProjectService } from './access/project-service.ts';
import { RegistryAccess } from './access/registry-access.ts';
import { RobotService } from './access/robot-service.ts';
import { DatabaseRobotVerifier } from './access/robot-verifier.ts';
import { SecretBox } from './access/secret-box.ts';
import { loadSecretBox } from './access/secret-key-file.ts';
import { SettingsService } from './access/settings-service.ts';
import { TokenService } from './access/token-service.ts';
import { UserService } from './access/user-service.ts';
import { DatabaseAuditLog } from './audit/audit-log.ts';
import { openChangeFeed } from './cluster/change-feed.ts';
import { wireClusterInvalidation } from './cluster/cluster-invalidation.ts';
import { parseListen } from './config/load.ts';
import type { BerthConfig } from './config/schema.ts';
import { openDatabase } from './db/open.ts';
import { registerApi } from './http/api/index.ts';
import { HttpMetrics } from './http/metrics.ts';
import { createOidcLogin } from './http/oidc/setup.ts';
import { readinessCheck } from './http/readiness.ts';
import { adapterPrefix, scannerAdapterRoutes } from './http/scanner-adapter/routes.ts';
import { buildServer } from './http/server.ts';
import { startRedirectListener } from './http/tls/redirect-listener.ts';
import { clientHost, loadTlsSettings } from './http/tls/tls-settings.ts';
import { trustInstructions } from './http/tls/trust-instructions.ts';
import { JobService } from './jobs/job-service.ts';
import { type Clock, systemClock } from './lib/clock.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import { PeriodicTask } from './lib/periodic-task.ts';
import { RateLimiter } from './lib/rate-limiter.ts';
import { CveAllowlistService } from './policy/cve-allowlist-service.ts';
import { createPullPolicies, loadTrustedRoot } from './policy/pull-policies.ts';
import { TagImmutability } from './policy/tag-immutability.ts';
import { ArtifactService } from './registry/artifact-service.ts';
import { BlobService } from './registry/blob-service.ts';
import { ListingService } from './registry/listing-service.ts';
import { ManifestService } from './registry/manifest-service.ts';
import { UploadService } from './registry/upload-service.ts';
import { rematchJobType, runRematch } from './scan/rematch.ts';
import { SbomService } from './scan/sbom/sbom-service.ts';
import { ScanAllService } from './scan/scan-all.ts';
import { ScanService, scannerName } from './scan/scan-service.ts';
import { AdapterCredential } from './scanner-adapter/adapter-credential.ts';
import { AdapterScanService } from './scanner-adapter/adapter-scan-service.ts';
import { RegistrationService } from './scanner-adapter/registration-service.ts';
import { openBlobStore } from './storage/open-blob-store.ts';
import { readVersion } from './version.ts';
import { AdvisoryStore } from './vuln/advisory-store.ts';
import { VulndbSync } from './vuln/vulndb-sync.ts';

export interface Berth {
  app: FastifyInstance;
  /** Base URL the server listens on, e.g. http://127.0.0.1:5000. */
  url: string;
  /** Base URL of the plain-HTTP listener that redirects to HTTPS, when there is one. */
  redirectUrl?: string;
  log: Logger;
  /** The background job service, started once the server listens. */
  jobs: JobService;
  close(): Promise<void>;
}

const purgeIntervalMs = 10 * 60 * 1000;

/**
 * The composition root: the only place that knows which implementations are in use. Builds
 * every service from the configuration, starts listening, and returns a handle to stop it all.
 */
/** Parts a test may replace; production passes nothing. */
export interface StartOverrides {
  clock?: Clock;
}

export async function startBerth(
  config: BerthConfig,
  log: Logger = createLogger(config.log.level),
  overrides: StartOverrides = {},
): Promise<Berth> {
  const clock = overrides.clock ?? systemClock;
  // First, so a bad key or certificate stops the start before anything is opened.
  const tls = await loadTlsSettings(config, log);
  const secrets = loadSecretBox(config.auth.secretKeyFile);
  const db = openDatabase(config.database, {
    onIdleConnectionError: (error) =>
      log.warn({ err: error.message }, 'database connection lost; reconnecting'),
  });
  const applied = await db.migrate();
  if (applied.length > 0) log.info({ migrations: applied }, 'database migrated');
  const admin = await ensureAdmin(db, clock, config.adminPassword);
  if (admin.generatedPassword) {
    // Shown once, on the terminal only (never through the logger): it is not stored in clear.
    process.stderr.write(
      `\nBerth created its administrator.\n  username: admin\n  password: ${admin.generatedPassword}\nChange it after logging in; it will not be shown again.\n\n`,
    );
  }
  const store = await openBlobStore(config.storage);

  const audit = new DatabaseAuditLog(db, clock, log);
  const settings = new SettingsService(db, clock, secrets);
  const directory = new ProjectDirectory(db, clock);
  const evaluator = new PermissionEvaluator(directory);
  const projects = new ProjectService(db, clock, directory, config.quota.defaultStorageBytes);
  const cveAllowlists = new CveAllowlistService(db, clock);
  const access = new RegistryAccess({
    evaluator,
    directory,
    projects,
    autoCreateProjects: config.registry.autoCreateProjects,
  });
  const ldap = new LdapDirectory({ db, clock, log, settings });
  const authenticator = new Authenticator({
    db,
    clock,
    log,
    secrets,
    directory: () => ldap.whenActive(),
    robots: new DatabaseRobotVerifier(db, clock, directory),
    maxFailures: config.auth.maxFailedLogins,
    lockMs: config.auth.lockMinutes * 60 * 1000,
    cacheMs: config.auth.credentialCacheSeconds * 1000,
  });
  const robots = new RobotService({
    db,
    clock,
    evaluator,
    directory,
    settings,
    forgetLogins: () => authenticator.forgetLogins(),
  });
  const users = new UserService({ db, clock, settings, evaluator, authenticator, directory });
  const groups = new GroupService({
    db,
    clock,
    settings,
    authenticator,
    directory,
    ldap: () => ldap.whenActive(),
  });
  const members = new MemberService({
    db,
    clock,
    directory,
    groups,
    onboardUser: async (username) => {
      await (await ldap.whenActive())?.importUsers([username]);
    },
  });
  const oidc = createOidcLogin({ db, clock, log, secrets, settings, authenticator, audit });
  const tokens = new TokenService({
    db,
    clock,
    secrets,
    issuer: config.auth.tokenService,
    service: config.auth.tokenService,
    ttlSeconds: config.auth.tokenTtlSeconds,
    refreshTtlSeconds: config.auth.refreshTokenTtlSeconds,
    rotationMs: config.auth.keyRotationDays * 24 * 3600 * 1000,
  });

  const uploads = new UploadService({
    db,
    store,
    clock,
    log,
    maxOpenUploads: config.registry.maxOpenUploadsPerRepository,
  });
  const manifests = new ManifestService({ db, store, clock, cacheBytes: config.registry.manifestCacheBytes });
  const immutability = new TagImmutability({ db, projects: directory, clock });
  manifests.guardTags(immutability);
  const jobs = new JobService({
    db,
    clock,
    log,
    workers: config.jobs.workers,
    pollIntervalMs: config.jobs.pollIntervalMs,
    leaseMs: config.jobs.leaseSeconds * 1000,
  });
  // Set once the server listens: the address external scanner adapters pull from.
  let ownUrl = '';
  const scanners = new RegistrationService({
    db,
    secrets,
    tokens,
    clock,
    version: readVersion(),
    credentialTtlSeconds: config.auth.tokenTtlSeconds,
    registryUrl: () => ownUrl,
  });
  const scans = new ScanService({
    db,
    store,
    jobs,
    advisories: new AdvisoryStore(db),
    clock,
    log,
    version: readVersion(),
    externalScanners: scanners,
  });
  const adapter = config.scannerAdapter.enabled
    ? {
        scans: new AdapterScanService({
          db,
          jobs,
          secrets,
          advisories: new AdvisoryStore(db),
          clock,
          version: readVersion(),
        }),
        credential: new AdapterCredential(
          SecretBox.isSealed(config.scannerAdapter.authToken)
            ? secrets.open(config.scannerAdapter.authToken)
            : config.scannerAdapter.authToken,
        ),
      }
    : undefined;
  adapter?.scans.register();
  scans.register();
  jobs.register(
    rematchJobType,
    (_payload, context) => runRematch(db, (row, signal) => scans.rematch(row, signal), context),
    { concurrency: 1 },
  );
  const scanAll = new ScanAllService({ db, jobs, scans, clock });
  scanAll.register();
  const vulndb = new VulndbSync({
    db,
    jobs,
    clock,
    mirror: config.vulndb.mirror,
    rescanOnUpdate: config.vulndb.rescanOnUpdate,
    workDir: join(config.data, 'vulndb-downloads'),
    version: readVersion(),
  });
  vulndb.register();
  await vulndb.applySchedule();
  manifests.onStored((repository, digest) => scans.scanOnPush(repository, digest));
  const sboms = new SbomService({ db, store, uploads, manifests, jobs, clock, log, version: readVersion() });
  sboms.register();
  manifests.onStored((repository, digest) => sboms.sbomOnPush(repository, digest));
  const pullPolicies = createPullPolicies({
    db,
    clock,
    log,
    manifests,
    store,
    directory,
    cveAllowlists,
    denyUnscanned: config.policy.denyUnscanned,
    ...(config.policy.sigstoreTrustedRoot
      ? { trustedRoot: await loadTrustedRoot(config.policy.sigstoreTrustedRoot) }
      : {}),
    scannerFor: (repository) => scanners.scannerFor(repository),
    scans,
  });
  // Other nodes on the same database drop their cached copies when these change here.
  const changes = await openChangeFeed(config.database, log);
  wireClusterInvalidation(changes, {
    directory,
    gate: pullPolicies.gate,
    trustPolicies: pullPolicies.trustPolicies,
    cveAllowlists,
    immutability,
    authenticator,
    tokens,
    log,
  });
  const registry = {
    blobs: new BlobService({ db, store, clock }),
    uploads,
    manifests,
    listing: new ListingService(db),
    access,
    tokenService: config.auth.tokenService,
    manifestMaxBytes: config.registry.manifestMaxBytes,
    audit,
    pullGate: pullPolicies.gate,
  };

  const app = await buildServer({
    registry,
    auth: {
      authenticator,
      tokens,
      access,
      db,
      audit,
      browserSessions: oidc.browserSessions,
      tokenLimiter: new RateLimiter(clock, config.auth.tokenRatePerMinute, config.auth.tokenRateBurst),
      failedLogins: new RateLimiter(
        clock,
        config.auth.failedLoginsPerMinute,
        config.auth.failedLoginsPerMinute,
      ),
    },
    log,
    metrics: config.metrics.enabled ? new HttpMetrics() : undefined,
    requestLogging: config.log.requests,
    idleTimeoutMs: config.http.idleTimeoutSeconds * 1000,
    trustProxy: config.http.trustProxy,
    tls,
    selfAuthenticatedPrefixes: adapter ? [`${adapterPrefix}/`] : [],
    readiness: readinessCheck(db, store),
    healthOnly: config.node.role === 'worker',
    plugins: [
      ...(adapter ? [(app: FastifyInstance) => scannerAdapterRoutes(app, adapter)] : []),
      (app) =>
        registerApi(app, {
          db,
          clock,
          evaluator,
          directory,
          projects,
          settings,
          authenticator,
          tokens,
          manifests,
          artifacts: new ArtifactService({
            db,
            manifests,
            blobs: registry.blobs,
            clock,
            scanReportKey: async (repository) => (await scanners.scannerFor(repository))?.name ?? scannerName,
            immutability,
          }),
          audit,
          robots,
          users,
          groups,
          members,
          configurations: new ConfigurationService(settings, users, authenticator),
          permissions: new PermissionListing(db, directory, evaluator),
          ldap,
          cliSecrets: oidc.cliSecrets,
          jobs,
          scans,
          sboms,
          scanners,
          scanAll,
          immutability,
          vulndb,
          cveAllowlists,
          trustPolicies: pullPolicies.trustPolicies,
          version: readVersion(),
        }),
      oidc.routes,
    ],
  });
  const { host, port } = parseListen(config.listen);
  try {
    await app.listen({ host, port });
  } catch (error) {
    await changes.close();
    await db.close();
    throw error;
  }
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  ownUrl = url;
  const redirect = tls?.redirectListen
    ? await startRedirectListener(tls.redirectListen, boundPort, clientHost(host)).catch(async (error) => {
        await app.close();
        await changes.close();
        await db.close();
        throw error;
      })
    : undefined;
  if (tls?.createdCaFile) {
    const name = clientHost(host);
    process.stderr.write(
      trustInstructions(tls.createdCaFile, `${name.includes(':') ? `[${name}]` : name}:${boundPort}`),
    );
  }

  const idleMs = config.registry.uploadIdleMinutes * 60 * 1000;
  const purge = new PeriodicTask(
    'upload purge',
    Math.min(purgeIntervalMs, idleMs),
    (signal) => uploads.purgeIdle(clock.now() - idleMs, signal),
    log,
  );
  purge.start();
  // An api node only enqueues: its jobs run on the worker (or all) nodes sharing its database.
  if (config.node.role !== 'api') jobs.start();

  log.info({ url, redirect: redirect?.url, data: config.data, role: config.node.role }, 'berth is serving');
  return {
    app,
    url,
    redirectUrl: redirect?.url,
    log,
    jobs,
    async close() {
      await purge.stop();
      await jobs.stop();
      await redirect?.close();
      await app.close();
      await audit.flush();
      await changes.close();
      await db.close();
    },
  };
}
