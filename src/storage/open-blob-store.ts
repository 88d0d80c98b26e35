import type { BerthConfig } from '../config/schema.ts';
import type { BlobStore } from './blob-store.ts';
import { FilesystemBlobStore } from './filesystem/filesystem-blob-store.ts';
import { S3BlobStore, type S3Encryption } from './s3/s3-blob-store.ts';
import { createS3Client } from './s3/s3-client.ts';

/** The blob store the configuration names, ready to use. */
export async function openBlobStore(storage: BerthConfig['storage']): Promise<BlobStore> {
  if (storage.driver === 's3') return openS3BlobStore(storage.s3);
  const store = new FilesystemBlobStore(storage.filesystem.root);
  await store.init();
  return store;
}

function openS3BlobStore(settings: BerthConfig['storage']['s3']): S3BlobStore {
  if (settings.bucket === '') throw new Error('storage.s3.bucket is required with storage.driver: s3');
  if (settings.accessKeyId !== '' && settings.secretAccessKey === '')
    throw new Error('storage.s3.secretAccessKey is required with storage.s3.accessKeyId');
  const encryption: S3Encryption =
    settings.encryption === 'aws:kms'
      ? { type: 'aws:kms', ...(settings.kmsKeyId ? { keyId: settings.kmsKeyId } : {}) }
      : { type: settings.encryption };
  return new S3BlobStore({
    client: createS3Client(settings),
    bucket: settings.bucket,
    prefix: settings.prefix,
    partSize: settings.partSizeMiB * 1024 * 1024,
    encryption,
    ...(settings.presignedRedirect ? { presignedExpirySeconds: settings.presignedExpirySeconds } : {}),
  });
}
