import type { ScannedPackage } from '../analyze.ts';
import {
  imagePurl,
  isOsPackage,
  type KeyedPackage,
  keyPackages,
  type SbomInput,
  sbomTimestamp,
} from './sbom-input.ts';

export const cyclonedxMediaType = 'application/vnd.cyclonedx+json';

interface Property {
  name: string;
  value: string;
}

interface Component {
  type: 'container' | 'operating-system' | 'library' | 'application';
  'bom-ref'?: string;
  name: string;
  version?: string;
  description?: string;
  purl?: string;
  hashes?: { alg: 'SHA-256'; content: string }[];
  properties?: Property[];
}

export interface CyclonedxBom {
  $schema: string;
  bomFormat: 'CycloneDX';
  specVersion: '1.5';
  serialNumber: string;
  version: 1;
  metadata: {
    timestamp: string;
    tools: { components: Component[] };
    component: Component;
  };
  components: Component[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

/**
 * A CycloneDX 1.5 BOM for an image: the image is the BOM's subject (`metadata.component`), its
 * operating system and packages are components, and `dependencies` says what holds what (the
 * image its OS and non-OS packages, the OS its packages). Where Berth found each package is in
 * `berth:` properties.
 */
export function cyclonedxBom(input: SbomInput): CyclonedxBom {
  const { subject, analysis } = input;
  const imageRef = imagePurl(subject);
  const image: Component = {
    type: 'container',
    'bom-ref': imageRef,
    name: subject.repository,
    version: subject.digest,
    purl: imageRef,
  };
  if (subject.digest.startsWith('sha256:')) {
    image.hashes = [{ alg: 'SHA-256', content: subject.digest.slice('sha256:'.length) }];
  }
  const components: Component[] = [];
  const imageHolds: string[] = [];
  const os = analysis.os;
  const osRef = os ? `berth:os:${os.id}@${os.versionId ?? 'unknown'}` : undefined;
  const osHolds: string[] = [];
  if (os && osRef) {
    components.push({
      type: 'operating-system',
      'bom-ref': osRef,
      name: os.id,
      ...(os.versionId ? { version: os.versionId } : {}),
      ...(os.prettyName ? { description: os.prettyName } : {}),
    });
    imageHolds.push(osRef);
  }
  const usedRefs = new Set<string>();
  for (const keyed of keyPackages(analysis.packages)) {
    const component = packageComponent(keyed, usedRefs);
    components.push(component);
    (osRef && isOsPackage(keyed.pkg) ? osHolds : imageHolds).push(component['bom-ref']!);
  }
  const dependencies = [{ ref: imageRef, dependsOn: imageHolds }];
  if (osRef) dependencies.push({ ref: osRef, dependsOn: osHolds });
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.5.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${input.id}`,
    version: 1,
    metadata: {
      timestamp: sbomTimestamp(input.created),
      tools: { components: [{ type: 'application', name: 'Berth', version: input.toolVersion }] },
      component: image,
    },
    components,
    dependencies,
  };
}

/** The package's purl is its bom-ref; the same purl found twice (two install paths) gets its key. */
function packageComponent({ pkg, key }: KeyedPackage, usedRefs: Set<string>): Component {
  const ref = usedRefs.has(pkg.purl) ? `${pkg.purl}#${key}` : pkg.purl;
  usedRefs.add(ref);
  return {
    type: 'library',
    'bom-ref': ref,
    name: pkg.name,
    version: pkg.version,
    purl: pkg.purl,
    properties: packageProperties(pkg),
  };
}

function packageProperties(pkg: ScannedPackage): Property[] {
  const properties: Property[] = [
    { name: 'berth:package_type', value: pkg.type },
    { name: 'berth:layer_digest', value: pkg.layerDigest },
    { name: 'berth:path', value: pkg.dbPath },
  ];
  if (pkg.installPath) properties.push({ name: 'berth:install_path', value: pkg.installPath });
  if (pkg.sourceName !== pkg.name || pkg.sourceVersion !== pkg.version) {
    properties.push({ name: 'berth:source_name', value: pkg.sourceName });
    properties.push({ name: 'berth:source_version', value: pkg.sourceVersion });
  }
  return properties;
}
