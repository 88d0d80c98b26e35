import {
  foundWhere,
  imagePurl,
  isOsPackage,
  type KeyedPackage,
  keyPackages,
  type SbomInput,
  sbomTimestamp,
  toolName,
} from './sbom-input.ts';

export const spdxMediaType = 'application/spdx+json';

const noAssertion = 'NOASSERTION';
const documentId = 'SPDXRef-DOCUMENT';
const imageId = 'SPDXRef-Image';
const osId = 'SPDXRef-OperatingSystem';

interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  primaryPackagePurpose?: string;
  description?: string;
  sourceInfo?: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
}

interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: string;
  relatedSpdxElement: string;
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: string;
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
}

/** SPDX ids allow letters, digits, `.` and `-` after `SPDXRef-`. */
const idPart = (text: string): string => text.replace(/[^A-Za-z0-9.-]/g, '-');

const purlRef = (purl: string) => ({
  referenceCategory: 'PACKAGE-MANAGER',
  referenceType: 'purl',
  referenceLocator: purl,
});

/**
 * An SPDX 2.3 document for an image: the image as the described package, its operating system,
 * and one package per detected package; the OS contains its packages, the image everything else.
 * Licences are not read by the scanner, so none are asserted (absent means NOASSERTION).
 */
export function spdxDocument(input: SbomInput): SpdxDocument {
  const { subject, analysis } = input;
  const hex = subject.digest.slice(subject.digest.indexOf(':') + 1);
  const image: SpdxPackage = {
    SPDXID: imageId,
    name: subject.repository,
    versionInfo: subject.digest,
    downloadLocation: noAssertion,
    filesAnalyzed: false,
    primaryPackagePurpose: 'CONTAINER',
    externalRefs: [purlRef(imagePurl(subject))],
  };
  if (subject.digest.startsWith('sha256:')) image.checksums = [{ algorithm: 'SHA256', checksumValue: hex }];
  const packages: SpdxPackage[] = [image];
  const relationships: SpdxRelationship[] = [
    { spdxElementId: documentId, relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
  ];
  const os = analysis.os;
  if (os) {
    packages.push({
      SPDXID: osId,
      name: os.id,
      ...(os.versionId ? { versionInfo: os.versionId } : {}),
      downloadLocation: noAssertion,
      filesAnalyzed: false,
      primaryPackagePurpose: 'OPERATING-SYSTEM',
      ...(os.prettyName ? { description: os.prettyName } : {}),
    });
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: osId });
  }
  for (const keyed of keyPackages(analysis.packages)) {
    const entry = spdxPackage(keyed);
    packages.push(entry);
    const container = os && isOsPackage(keyed.pkg) ? osId : imageId;
    relationships.push({
      spdxElementId: container,
      relationshipType: 'CONTAINS',
      relatedSpdxElement: entry.SPDXID,
    });
  }
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: documentId,
    name: `${subject.repository}@${subject.digest}`,
    // Unique per generation and never resolved: the form SPDX's own examples use.
    documentNamespace: `https://spdx.org/spdxdocs/berth/${idPart(subject.repository)}/${idPart(subject.digest)}/${input.id}`,
    creationInfo: {
      created: sbomTimestamp(input.created),
      creators: [`Tool: ${toolName(input.toolVersion)}`],
    },
    packages,
    relationships,
  };
}

function spdxPackage({ pkg, key }: KeyedPackage): SpdxPackage {
  return {
    SPDXID: `SPDXRef-Package-${pkg.type}-${idPart(pkg.name)}-${key}`,
    name: pkg.name,
    versionInfo: pkg.version,
    downloadLocation: noAssertion,
    filesAnalyzed: false,
    sourceInfo: foundWhere(pkg),
    externalRefs: [purlRef(pkg.purl)],
  };
}
