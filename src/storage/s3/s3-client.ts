import { S3Client } from '@aws-sdk/client-s3';

export interface S3ConnectionSettings {
  /** Empty for AWS itself; the base URL of another S3-compatible service (Ceph RGW, MinIO). */
  endpoint: string;
  region: string;
  /** `https://host/bucket/key` instead of `https://bucket.host/key`, as most self-hosted stores need. */
  forcePathStyle: boolean;
  /** Empty: the SDK's default chain (environment, shared files, instance role). */
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export function createS3Client(settings: S3ConnectionSettings): S3Client {
  return new S3Client({
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    ...(settings.accessKeyId
      ? {
          credentials: {
            accessKeyId: settings.accessKeyId,
            secretAccessKey: settings.secretAccessKey,
            ...(settings.sessionToken ? { sessionToken: settings.sessionToken } : {}),
          },
        }
      : {}),
    // Checksums only where S3 demands them: stores that predate the flexible-checksum headers
    // (Ceph Pacific) refuse streamed bodies sent with them. Parts carry a Content-MD5 instead.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
