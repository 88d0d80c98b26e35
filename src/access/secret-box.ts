import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const prefix = 'enc:v1:';

/**
 * Secrets at rest (LDAP bind password, OIDC client secret, signing keys, CLI secrets):
 * AES-256-GCM with a key from configuration or from the data directory's key file, so a copy
 * of the database alone reveals none of them.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${prefix}${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${sealed.toString('base64')}`;
  }

  open(value: string): string {
    if (!value.startsWith(prefix)) throw new Error('not a sealed secret');
    const [iv, tag, sealed] = value.slice(prefix.length).split(':');
    if (!iv || !tag || sealed === undefined) throw new Error('malformed sealed secret');
    const authTag = Buffer.from(tag, 'base64');
    const nonce = Buffer.from(iv, 'base64');
    // GCM would accept a truncated tag (down to 4 bytes), making forgeries cheap: only 16.
    if (authTag.length !== 16 || nonce.length !== 12) throw new Error('malformed sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonce, { authTagLength: 16 });
    decipher.setAuthTag(authTag);
    return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64')), decipher.final()]).toString('utf8');
  }

  static isSealed(value: string): boolean {
    return value.startsWith(prefix);
  }
}
