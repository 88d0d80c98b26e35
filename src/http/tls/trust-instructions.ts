/**
 * What to tell an operator when Berth has made its own CA: where it is, and how each client
 * trusts it for the registry at `registry` (host:port, as clients will type it).
 */
export function trustInstructions(caFile: string, registry: string): string {
  const install = (dir: string) =>
    `sudo mkdir -p ${dir}/${registry} && sudo cp ${caFile} ${dir}/${registry}/ca.crt`;
  return [
    '',
    'Berth made its own certificate authority for HTTPS (for trials; give tls.certFile and tls.keyFile in production).',
    `  CA certificate: ${caFile}`,
    `Trust it in each client of ${registry}:`,
    `  podman, skopeo, buildah: ${install('/etc/containers/certs.d')}`,
    '                           (or per command: --cert-dir DIR, where DIR holds ca.crt)',
    `  docker:                  ${install('/etc/docker/certs.d')}`,
    `  curl:                    curl --cacert ${caFile} https://${registry}/v2/`,
    'The CA lasts 10 years; the server certificate lasts 1 year and is issued again at start when near its end.',
    '',
    '',
  ].join('\n');
}
