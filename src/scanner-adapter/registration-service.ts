import { randomUUID } from 'node:crypto';
import type { SecretBox } from '../access/secret-box.ts';
import type { TokenService } from '../access/token-service.ts';
import type { Database } from '../db/database.ts';
import type { ScannerRegistrationRow } from '../db/scanner-registrations.ts';
import type { Clock } from '../lib/clock.ts';
import { RegistryError } from '../oci/errors.ts';
import { mediaTypes } from '../oci/media-types.ts';
import {
  type ExternalScanners,
  scannerName,
  type VulnerabilityReport,
  vulnerabilityReportMime,
} from '../scan/scan-service.ts';
import {
  type AdapterAuth,
  AdapterClient,
  type AdapterEndpoint,
  AdapterError,
  type AdapterMetadata,
} from './adapter-client.ts';
import { scanWithAdapter } from './external-scan.ts';
import { type RegistrationRequest, validateRegistration } from './registration-request.ts';
import { issueScanCredential } from './scan-credential.ts';

/** The built-in scanner's registration id: listed with the others, never stored nor deleted. */
export const builtInScannerUuid = '00000000-0000-4000-8000-00000000be47';

/** Harbor's ScannerRegistration, as the API shows it (the credential is write-only). */
export interface ScannerRegistration {
  uuid: string;
  name: string;
  description: string;
  url: string;
  disabled: boolean;
  is_default: boolean;
  auth: string;
  skip_certVerify: boolean;
  use_internal_addr: boolean;
  create_time?: string;
  update_time?: string;
  adapter?: string;
  vendor?: string;
  version?: string;
}

export interface RegistrationServiceOptions {
  db: Database;
  secrets: SecretBox;
  tokens: TokenService;
  clock: Clock;
  version: string;
  /** Lifetime of the pull credential an adapter gets for one scan. */
  credentialTtlSeconds: number;
  /** The base URL adapters pull from: this Berth's own address. */
  registryUrl: () => string;
}

const flag = (value: boolean | undefined): 0 | 1 => (value ? 1 : 0);
const iso = (ms: number): string => new Date(Number(ms)).toISOString();

/**
 * Harbor's scanner registrations: the external scanner adapters Berth can drive, the built-in
 * scanner listed among them, the default, and each project's choice. Runs the scans of
 * projects whose scanner is an external one (the scan service asks through ExternalScanners).
 */
export class RegistrationService implements ExternalScanners {
  constructor(private readonly options: RegistrationServiceOptions) {}

  async list(): Promise<ScannerRegistration[]> {
    const rows = await this.options.db.scannerRegistrations.list();
    return [this.builtIn(!rows.some((row) => row.is_default === 1)), ...rows.map((row) => this.view(row))];
  }

  async get(uuid: string): Promise<ScannerRegistration> {
    if (uuid === builtInScannerUuid) return (await this.list())[0]!;
    return this.view(await this.require(uuid));
  }

  async create(request: RegistrationRequest): Promise<string> {
    const { db, clock } = this.options;
    const endpoint = validateRegistration(request);
    await this.refuseDuplicates(request.name, endpoint.url);
    const uuid = randomUUID();
    const now = clock.now();
    await db.scannerRegistrations.insert({
      uuid,
      ...this.storedFields(request, endpoint),
      description: request.description ?? '',
      is_default: 0,
      created_at: now,
      updated_at: now,
    });
    return uuid;
  }

  async update(uuid: string, request: RegistrationRequest): Promise<void> {
    this.refuseBuiltIn(uuid, 'changed');
    const current = await this.require(uuid);
    // A credential left out keeps the stored one (the API never shows it to send back), but
    // only for the same endpoint: pointed elsewhere, it would be handed to the new host.
    const keepsCredential =
      request.access_credential === undefined &&
      (request.auth ?? '') === current.auth &&
      sameEndpoint(request.url, current.url);
    const credential = keepsCredential ? this.openCredential(current) : request.access_credential;
    const endpoint = validateRegistration({ ...request, access_credential: credential });
    await this.refuseDuplicates(request.name, endpoint.url, uuid);
    await this.options.db.scannerRegistrations.update(uuid, {
      ...this.storedFields(request, endpoint),
      description: request.description ?? current.description,
      updated_at: this.options.clock.now(),
    });
  }

  /** The columns a registration request sets, its credential sealed. */
  private storedFields(request: RegistrationRequest, endpoint: AdapterEndpoint) {
    return {
      name: request.name,
      url: endpoint.url,
      auth: endpoint.auth,
      access_credential: endpoint.credential ? this.options.secrets.seal(endpoint.credential) : '',
      skip_cert_verify: flag(request.skip_certVerify),
      use_internal_addr: flag(request.use_internal_addr),
      disabled: flag(request.disabled),
    };
  }

  async delete(uuid: string): Promise<ScannerRegistration> {
    this.refuseBuiltIn(uuid, 'deleted');
    const removed = this.view(await this.require(uuid));
    await this.options.db.scannerRegistrations.delete(uuid);
    return removed;
  }

  async setDefault(uuid: string): Promise<void> {
    if (uuid !== builtInScannerUuid && (await this.require(uuid)).disabled === 1)
      throw new RegistryError('BAD_REQUEST', 'a disabled scanner cannot be the default');
    await this.options.db.scannerRegistrations.setDefault(uuid === builtInScannerUuid ? undefined : uuid);
  }

  async metadata(uuid: string): Promise<AdapterMetadata> {
    if (uuid === builtInScannerUuid) {
      return {
        scanner: { name: scannerName, vendor: scannerName, version: this.options.version },
        capabilities: [
          {
            consumes_mime_types: [mediaTypes.ociManifest, mediaTypes.dockerManifest],
            produces_mime_types: [vulnerabilityReportMime],
          },
        ],
      };
    }
    const row = await this.require(uuid);
    return this.call(() => this.client(row).metadata());
  }

  /** Checks that an adapter answers its metadata with these settings (nothing is stored). */
  async ping(request: Omit<RegistrationRequest, 'name'>): Promise<AdapterMetadata> {
    const endpoint = validateRegistration({ name: 'ping', ...request });
    return this.call(() => new AdapterClient(endpoint).metadata());
  }

  /** The registration a project uses: its own choice, else the default. */
  async ofProject(projectId: number): Promise<ScannerRegistration> {
    const chosen = await this.options.db.scannerRegistrations.projectScanner(projectId);
    const all = await this.list();
    return all.find((scanner) => scanner.uuid === chosen) ?? all.find((scanner) => scanner.is_default)!;
  }

  async setProjectScanner(projectId: number, uuid: string): Promise<void> {
    if ((await this.get(uuid)).disabled)
      throw new RegistryError('BAD_REQUEST', `scanner ${uuid} is disabled`);
    await this.options.db.scannerRegistrations.setProjectScanner(projectId, uuid);
  }

  /** The scanners a project may choose from: every enabled one. */
  async candidates(): Promise<ScannerRegistration[]> {
    return (await this.list()).filter((scanner) => !scanner.disabled);
  }

  async scannerFor(repository: string): Promise<{ uuid: string; name: string; version: string } | undefined> {
    const project = await this.options.db.projects.findByName(repository.slice(0, repository.indexOf('/')));
    if (!project) return undefined;
    const scanner = await this.ofProject(Number(project.id));
    if (scanner.uuid === builtInScannerUuid || scanner.disabled) return undefined;
    return { uuid: scanner.uuid, name: scanner.name, version: scanner.version ?? '' };
  }

  async scan(
    uuid: string,
    repository: string,
    digest: string,
    signal: AbortSignal,
  ): Promise<VulnerabilityReport> {
    const { db, tokens, clock, credentialTtlSeconds } = this.options;
    const row = await this.require(uuid);
    const client = this.client(row);
    const manifest = await db.manifests.find(repository, digest);
    if (!manifest) throw new Error(`manifest ${digest} is not in ${repository}`);
    const credential = await issueScanCredential(
      { db, tokens, clock, ttlSeconds: credentialTtlSeconds },
      repository,
      row.name,
    );
    try {
      return await scanWithAdapter(
        client,
        row.name,
        {
          registry: { url: this.options.registryUrl(), authorization: credential.authorization },
          artifact: { repository, digest, mime_type: manifest.media_type },
        },
        { clock, signal },
      );
    } finally {
      await credential.revoke();
    }
  }

  private client(row: ScannerRegistrationRow): AdapterClient {
    return new AdapterClient({
      url: row.url,
      auth: row.auth as AdapterAuth,
      credential: this.openCredential(row),
      skipCertVerify: row.skip_cert_verify === 1,
    });
  }

  /** Runs a request to an adapter, its failure told as the API's 400 with the reason. */
  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AdapterError) throw new RegistryError('BAD_REQUEST', error.message);
      throw error;
    }
  }

  private openCredential(row: ScannerRegistrationRow): string {
    return row.access_credential === '' ? '' : this.options.secrets.open(row.access_credential);
  }

  private async refuseDuplicates(name: string, url: string, except?: string): Promise<void> {
    for (const row of await this.options.db.scannerRegistrations.list()) {
      if (row.uuid === except) continue;
      if (row.name === name)
        throw new RegistryError('CONFLICT', `a scanner named ${name} is already registered`);
      if (row.url === url) throw new RegistryError('CONFLICT', `a scanner at ${url} is already registered`);
    }
    if (name === scannerName) throw new RegistryError('CONFLICT', `${name} is the built-in scanner's name`);
  }

  private refuseBuiltIn(uuid: string, verb: string): void {
    if (uuid === builtInScannerUuid)
      throw new RegistryError('FORBIDDEN', `the built-in scanner is immutable and cannot be ${verb}`);
  }

  private async require(uuid: string): Promise<ScannerRegistrationRow> {
    const row = await this.options.db.scannerRegistrations.find(uuid);
    if (!row) throw new RegistryError('NOT_FOUND', `scanner registration ${uuid.slice(0, 64)} not found`);
    return row;
  }

  private builtIn(isDefault: boolean): ScannerRegistration {
    const { version } = this.options;
    return {
      uuid: builtInScannerUuid,
      name: scannerName,
      description: "Berth's built-in scanner",
      url: 'berth://built-in',
      disabled: false,
      is_default: isDefault,
      auth: '',
      skip_certVerify: false,
      use_internal_addr: true,
      adapter: scannerName,
      vendor: scannerName,
      version,
    };
  }

  private view(row: ScannerRegistrationRow): ScannerRegistration {
    return {
      uuid: row.uuid,
      name: row.name,
      description: row.description,
      url: row.url,
      disabled: row.disabled === 1,
      is_default: row.is_default === 1,
      auth: row.auth,
      skip_certVerify: row.skip_cert_verify === 1,
      use_internal_addr: row.use_internal_addr === 1,
      create_time: iso(row.created_at),
      update_time: iso(row.updated_at),
    };
  }
}

/** Whether two registration URLs name the same adapter (trailing slashes aside). */
function sameEndpoint(a: string | undefined, b: string): boolean {
  return a !== undefined && a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}
