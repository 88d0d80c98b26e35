import type { DetectedOs } from './os-release.ts';

/**
 * OSV ecosystems whose advisories cover the rpm packages of an image, most likely first; empty
 * when OSV has no feed for the distribution (CentOS, Fedora, Amazon Linux, Oracle Linux).
 *
 * - Rocky Linux and AlmaLinux scope by major release: `Rocky Linux:9`, `AlmaLinux:9`.
 * - Red Hat scopes by product stream, a CPE without its `cpe:/o:redhat:` prefix. An image's rpm
 *   database does not say which repository a package came from, so both streams of a RHEL
 *   major release are candidates: `Red Hat:enterprise_linux:9::baseos` and `…::appstream`.
 * - SUSE and openSUSE scope by the product's marketing name, os-release's PRETTY_NAME without
 *   the vendor word: `SUSE:Linux Enterprise Server 15 SP5`, `openSUSE:Leap 15.5`,
 *   `openSUSE:Tumbleweed`.
 */
export function rpmOsvEcosystems(os: DetectedOs | undefined): string[] {
  if (!os) return [];
  const major = os.versionId?.split('.')[0];
  switch (os.id) {
    case 'rocky':
      return major ? [`Rocky Linux:${major}`] : [];
    case 'almalinux':
      return major ? [`AlmaLinux:${major}`] : [];
    case 'rhel':
      return major
        ? [`Red Hat:enterprise_linux:${major}::baseos`, `Red Hat:enterprise_linux:${major}::appstream`]
        : [];
  }
  const product = suseProduct(os);
  return product ? [product] : [];
}

/** The first of `rpmOsvEcosystems`: the one ecosystem to look a package up in. */
export function rpmOsvEcosystem(os: DetectedOs | undefined): string | undefined {
  return rpmOsvEcosystems(os)[0];
}

function suseProduct(os: DetectedOs): string | undefined {
  const name = os.prettyName?.trim();
  if (!name) return undefined;
  if (os.id.startsWith('opensuse') && name.startsWith('openSUSE '))
    return `openSUSE:${name.slice('openSUSE '.length)}`;
  if (['sles', 'sles_sap', 'sle-micro', 'sl-micro'].includes(os.id) && name.startsWith('SUSE '))
    return `SUSE:${name.slice('SUSE '.length)}`;
  return undefined;
}
