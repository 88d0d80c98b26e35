import { type Static, Type } from '@sinclair/typebox';

const listenPattern = '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$';

/**
 * Every setting, its type, default and bounds. Each leaf can also be set by an environment
 * variable named after its path: `registry.manifestMaxBytes` ← `BERTH_REGISTRY_MANIFEST_MAX_BYTES`.
 */
export const configSchema = Type.Object(
  {
    listen: Type.String({
      pattern: listenPattern,
      default: '127.0.0.1:5000',
      description: 'host:port to serve on (use 0.0.0.0:5000 for every interface)',
    }),
    data: Type.String({
      minLength: 1,
      default: './data',
      description: 'directory for the database and blobs',
    }),
    adminPassword: Type.String({
      default: '',
      description:
        "password of the first administrator, 'admin' (read only when it is created; else generated and printed once)",
    }),
    auth: Type.Object(
      {
        secretKeyFile: Type.String({
          default: '',
          description:
            'file holding the key that encrypts secrets at rest (default <data>/secret.key, created if absent)',
        }),
        tokenService: Type.String({
          minLength: 1,
          default: 'berth',
          description: 'service name in registry token challenges',
        }),
        tokenTtlSeconds: Type.Integer({
          minimum: 30,
          maximum: 3600,
          default: 300,
          description: 'lifetime of registry tokens',
        }),
        refreshTokenTtlSeconds: Type.Integer({
          minimum: 60,
          default: 7 * 24 * 3600,
          description: 'lifetime of OAuth2 refresh tokens',
        }),
        keyRotationDays: Type.Integer({
          minimum: 1,
          default: 30,
          description: 'a new token signing key after this many days',
        }),
        maxFailedLogins: Type.Integer({
          minimum: 1,
          default: 5,
          description: 'failed logins in a row before an account locks',
        }),
        lockMinutes: Type.Integer({
          minimum: 1,
          default: 5,
          description: 'how long a locked account stays locked',
        }),
        credentialCacheSeconds: Type.Integer({
          minimum: 0,
          maximum: 300,
          default: 30,
          description: 'how long a verified password is trusted before it is checked again',
        }),
        failedLoginsPerMinute: Type.Integer({
          minimum: 0,
          default: 20,
          description:
            'failed logins per minute one client address may make, after a burst of as many, before it gets 429 (0: unlimited)',
        }),
        tokenRatePerMinute: Type.Integer({
          minimum: 0,
          default: 600,
          description: 'token requests per minute one client address may make (0: unlimited)',
        }),
        tokenRateBurst: Type.Integer({
          minimum: 1,
          default: 120,
          description: 'token requests one client address may make at once before the rate applies',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          [
            Type.Literal('fatal'),
            Type.Literal('error'),
            Type.Literal('warn'),
            Type.Literal('info'),
            Type.Literal('debug'),
            Type.Literal('trace'),
            Type.Literal('silent'),
          ],
          { default: 'info', description: 'log level' },
        ),
        requests: Type.Boolean({ default: true, description: 'log one line per HTTP request' }),
      },
      { additionalProperties: false, default: {} },
    ),
    database: Type.Object(
      {
        url: Type.String({
          default: '',
          description:
            'postgres://user@host:5432/db to use PostgreSQL (sslmode= in the URL works); empty: embedded SQLite',
        }),
        poolSize: Type.Integer({
          default: 10,
          minimum: 1,
          description: 'PostgreSQL connections per node, at most',
        }),
        tls: Type.Object(
          {
            enabled: Type.Boolean({
              default: false,
              description: 'TLS to PostgreSQL, verifying its certificate',
            }),
            caFile: Type.String({
              default: '',
              description: 'PEM CA for the PostgreSQL server (default: system CAs)',
            }),
            certFile: Type.String({ default: '', description: 'PEM client certificate for PostgreSQL' }),
            keyFile: Type.String({ default: '', description: 'PEM client key for PostgreSQL' }),
          },
          { additionalProperties: false, default: {} },
        ),
        sqlite: Type.Object(
          {
            path: Type.String({ default: '', description: 'SQLite file (default <data>/berth.db)' }),
            synchronous: Type.Union([Type.Literal('normal'), Type.Literal('full')], {
              default: 'normal',
              description: 'normal: WAL, crash-safe; full: also fsync every commit (power-loss durable)',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    storage: Type.Object(
      {
        driver: Type.Union([Type.Literal('filesystem'), Type.Literal('s3')], {
          default: 'filesystem',
          description: 'where blobs live: filesystem (storage.filesystem) or s3 (storage.s3)',
        }),
        filesystem: Type.Object(
          {
            root: Type.String({ default: '', description: 'blob directory (default <data>/storage)' }),
          },
          { additionalProperties: false, default: {} },
        ),
        s3: Type.Object(
          {
            endpoint: Type.String({
              default: '',
              description: 'URL of an S3-compatible service (Ceph RGW, MinIO); empty: AWS S3',
            }),
            region: Type.String({ default: 'us-east-1', description: 'S3 region' }),
            bucket: Type.String({ default: '', description: 'bucket holding the blobs (must exist)' }),
            prefix: Type.String({ default: '', description: 'key prefix of every object Berth writes' }),
            forcePathStyle: Type.Boolean({
              default: false,
              description: 'path-style URLs (host/bucket/key), as most self-hosted stores need',
            }),
            accessKeyId: Type.String({
              default: '',
              description: 'S3 access key; empty: the AWS SDK default chain (AWS_* variables, instance role)',
            }),
            secretAccessKey: Type.String({ default: '', description: 'S3 secret key (with accessKeyId)' }),
            encryption: Type.Union([Type.Literal('none'), Type.Literal('AES256'), Type.Literal('aws:kms')], {
              default: 'none',
              description: 'server-side encryption of every object written',
            }),
            kmsKeyId: Type.String({
              default: '',
              description: 'KMS key id for aws:kms (empty: the default key)',
            }),
            partSizeMiB: Type.Integer({
              minimum: 5,
              maximum: 5120,
              default: 8,
              description: 'multipart part size; one part per upload in progress is buffered in memory',
            }),
            presignedRedirect: Type.Boolean({
              default: false,
              description:
                'answer blob GET with a 307 to a short-lived presigned S3 URL instead of streaming',
            }),
            presignedExpirySeconds: Type.Integer({
              minimum: 1,
              maximum: 604800,
              default: 300,
              description: 'lifetime of presigned blob URLs',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    registry: Type.Object(
      {
        manifestMaxBytes: Type.Integer({
          minimum: 1024,
          maximum: 64 * 1024 * 1024,
          default: 4 * 1024 * 1024,
          description: 'largest manifest accepted, in bytes',
        }),
        manifestCacheBytes: Type.Integer({
          minimum: 0,
          default: 32 * 1024 * 1024,
          description: 'memory for recently served manifests, in bytes',
        }),
        autoCreateProjects: Type.Boolean({
          default: false,
          description: 'create a missing project when a system administrator pushes to it',
        }),
        maxOpenUploadsPerRepository: Type.Integer({
          minimum: 1,
          default: 1000,
          description: 'upload sessions a repository may have open at once (429 past that)',
        }),
        uploadIdleMinutes: Type.Integer({
          minimum: 1,
          default: 24 * 60,
          description: 'unfinished uploads untouched this long are purged',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    http: Type.Object(
      {
        idleTimeoutSeconds: Type.Integer({
          minimum: 1,
          default: 120,
          description: 'a connection silent this long (even mid-upload) is closed',
        }),
        trustProxy: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            'addresses or CIDRs of reverse proxies whose X-Forwarded-For/-Proto/-Host are believed (client address for rate limits and the audit log; https behind a TLS proxy) (comma-separated in the environment)',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    tls: Type.Object(
      {
        certFile: Type.String({
          default: '',
          description: 'PEM certificate, then any intermediates; with keyFile, serves HTTPS (HTTP/2 and 1.1)',
        }),
        keyFile: Type.String({ default: '', description: 'PEM private key of certFile' }),
        selfSigned: Type.Boolean({
          default: false,
          description:
            'serve HTTPS with a CA and certificate made under <data>/tls on first start, for trials (not with certFile)',
        }),
        hosts: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            'extra names and addresses for the self-signed certificate, besides localhost, 127.0.0.1, ::1 and the listen host (comma-separated in the environment)',
        }),
        hsts: Type.Integer({
          minimum: 0,
          default: 31536000,
          description: 'Strict-Transport-Security max-age in seconds on HTTPS responses; 0 sends none',
        }),
        redirectHttpListen: Type.String({
          pattern: `^$|${listenPattern}`,
          default: '',
          description: 'host:port of a plain-HTTP listener that redirects every request to HTTPS (308)',
        }),
        minVersion: Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], {
          default: 'TLSv1.2',
          description: 'oldest TLS version accepted',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    node: Type.Object(
      {
        role: Type.Union([Type.Literal('all'), Type.Literal('api'), Type.Literal('worker')], {
          default: 'all',
          description:
            'api: serve HTTP, run no background jobs; worker: run background jobs, serve only /healthz, /readyz and /metrics; all: both',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    jobs: Type.Object(
      {
        workers: Type.Integer({
          minimum: 1,
          default: 2,
          description: 'background jobs (scans and the like) this process runs at once',
        }),
        pollIntervalMs: Type.Integer({
          minimum: 10,
          default: 1000,
          description: 'how often to look for due jobs and schedules, in milliseconds',
        }),
        leaseSeconds: Type.Integer({
          minimum: 1,
          default: 60,
          description:
            "how long a running job stays its worker's without a heartbeat; after that (the process died) another worker takes it",
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    vulndb: Type.Object(
      {
        rescanOnUpdate: Type.Boolean({
          default: true,
          description:
            'after the vulnerability database changes (an import or a mirror sync), re-match every existing report against it',
        }),
        mirror: Type.Object(
          {
            url: Type.Union([Type.String(), Type.Array(Type.String({ minLength: 1 }))], {
              default: '',
              description:
                "HTTP(S) URL of an OSV zip or JSON file (e.g. an ecosystem's all.zip), or a list of them in the file; empty: no mirror",
            }),
            schedule: Type.String({
              default: '',
              description:
                'cron (5 fields, or 6 with seconds first; UTC) of the mirror sync; empty: only on request',
            }),
            caFile: Type.String({
              default: '',
              description: 'PEM file of the CA certificates to trust for the mirror, besides the usual ones',
            }),
            timeoutSeconds: Type.Integer({
              minimum: 1,
              default: 600,
              description: 'longest a download of one URL may take',
            }),
            maxBytes: Type.Integer({
              minimum: 1024,
              default: 2 * 1024 * 1024 * 1024,
              description: 'largest download accepted from one URL, in bytes',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    quota: Type.Object(
      {
        defaultStorageBytes: Type.Integer({
          minimum: -1,
          default: -1,
          description: 'storage limit of a project created without one, in bytes (-1 unlimited)',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    policy: Type.Object(
      {
        denyUnscanned: Type.Boolean({
          default: true,
          description:
            "under a project's prevent_vul, refuse pulls of images without a successful scan (Harbor always does)",
        }),
        sigstoreTrustedRoot: Type.String({
          default: '',
          description:
            'Sigstore trusted_root.json (Fulcio CAs, Rekor keys) that keyless Cosign signatures are verified against, offline; empty: keyless signatures are refused',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    metrics: Type.Object(
      { enabled: Type.Boolean({ default: true, description: 'serve Prometheus metrics at /metrics' }) },
      { additionalProperties: false, default: {} },
    ),
    scannerAdapter: Type.Object(
      {
        enabled: Type.Boolean({
          default: false,
          description:
            "serve Harbor's pluggable scanner API at /api/v1, so a Harbor (or another Berth) can use this Berth as its scanner",
        }),
        authToken: Type.String({
          default: '',
          description:
            'the credential clients of /api/v1 must present (Bearer, X-ScannerAdapter-API-Key, or a Basic password); may be sealed (enc:v1:…) with the secret key; required when enabled',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type BerthConfig = Static<typeof configSchema>;
