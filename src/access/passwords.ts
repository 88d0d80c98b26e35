import { randomBytes, randomInt } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/** argon2id with the library's defaults (19 MiB, 2 passes: OWASP's minimum). */
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** A hash to verify against when the user does not exist, so timing does not tell. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hash(randomBytes(16).toString('hex'));
  return decoy;
}

/** Harbor's password rule: 8 to 128 characters with an upper-case letter, a lower-case letter and a digit. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 8 || password.length > 128) return 'the password must be 8 to 128 characters long';
  if (!/[A-Z]/.test(password) || !/[a-z]/.test(password) || !/[0-9]/.test(password)) {
    return 'the password must contain an upper-case letter, a lower-case letter and a digit';
  }
  return undefined;
}

const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A random secret that satisfies `passwordProblem`: for the first admin, robots, CLI secrets. */
export function generateSecret(length = 32): string {
  for (;;) {
    let secret = '';
    for (let index = 0; index < length; index++) secret += alphabet[randomInt(alphabet.length)];
    if (!passwordProblem(secret)) return secret;
  }
}
