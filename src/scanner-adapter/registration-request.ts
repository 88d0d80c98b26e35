import { RegistryError } from '../oci/errors.ts';
import { type AdapterAuth, type AdapterEndpoint, adapterAuthTypes } from './adapter-client.ts';

/** Harbor's ScannerRegistrationReq. */
export interface RegistrationRequest {
  name: string;
  description?: string;
  url: string;
  auth?: string;
  access_credential?: string;
  skip_certVerify?: boolean;
  use_internal_addr?: boolean;
  disabled?: boolean;
}

/** Checks a registration's settings and gives the endpoint they describe; 400 for a bad one. */
export function validateRegistration(request: RegistrationRequest): AdapterEndpoint {
  if (typeof request.name !== 'string' || request.name.trim() === '' || request.name.length > 128)
    throw new RegistryError('BAD_REQUEST', 'name must be 1 to 128 characters');
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    throw new RegistryError(
      'BAD_REQUEST',
      `url ${JSON.stringify(String(request.url).slice(0, 100))} is not a URL`,
    );
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search)
    throw new RegistryError(
      'BAD_REQUEST',
      'url must be an http or https base URL without credentials or query',
    );
  const auth = (request.auth ?? '') as AdapterAuth;
  if (!adapterAuthTypes.includes(auth))
    throw new RegistryError(
      'BAD_REQUEST',
      `auth must be one of Basic, Bearer, X-ScannerAdapter-API-Key or empty`,
    );
  const credential = auth === '' ? '' : (request.access_credential ?? '');
  if (auth !== '' && credential === '')
    throw new RegistryError('BAD_REQUEST', `auth ${auth} needs an access_credential`);
  if (auth === 'Basic' && !credential.includes(':'))
    throw new RegistryError('BAD_REQUEST', 'a Basic access_credential is username:password');
  return {
    url: url.href.replace(/\/+$/, ''),
    auth,
    credential,
    skipCertVerify: request.skip_certVerify === true,
  };
}
