import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA as S3BucketServerSideEncryptionConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { Construct } from 'constructs';
import { denyInsecureTransport, IGrantable } from '../shared/iam';
import { assertLiteral, fitName, physicalName } from '../shared/naming';

/** What routes need of the artifacts bucket. */
export interface IArtifactsBucket {
  readonly bucketName: string;
  readonly bucketArn: string;
  /** Days an artifact lives; a link to one must expire no later. */
  readonly expirationDays: number;
  /** PutObject under the bucket's keys (no reads, lists or deletes). */
  grantWrite(grantee: IGrantable): void;
  /** GetObject: what a presigned link is signed with. */
  grantRead(grantee: IGrantable): void;
}

export interface ArtifactsBucketProps {
  /** Days before an artifact is deleted. @default 1 */
  readonly expirationDays?: number;
  /** Customer-managed KMS key. @default - SSE-S3 (AES-256); presigned links then need no key grant */
  readonly kmsKeyArn?: string;
  /** Let `terraform destroy` delete a bucket that still holds objects. @default false */
  readonly forceDestroy?: boolean;
}

/**
 * Private, encrypted bucket for job results: all public access blocked, ACLs disabled, TLS
 * required, objects expiring after a day, incomplete multipart uploads aborted after a day.
 */
export class ArtifactsBucket extends Construct implements IArtifactsBucket {
  public readonly bucketName: string;
  public readonly bucketArn: string;
  public readonly expirationDays: number;
  private readonly kmsKeyArn?: string;

  constructor(scope: Construct, id: string, props: ArtifactsBucketProps = {}) {
    super(scope, id);
    this.expirationDays = props.expirationDays ?? 1;
    this.kmsKeyArn = props.kmsKeyArn;
    assertLiteral(this.expirationDays, (d) => Number.isInteger(d) && d >= 1 && d <= 3650, `ArtifactsBucket: expirationDays must be a whole number of days from 1 to 3650 (got ${this.expirationDays})`);

    const bucket = new S3Bucket(this, 'bucket', {
      // A generated name: bucket names are global.
      bucketPrefix: `${fitName(physicalName(this).toLowerCase(), 36)}-`,
      forceDestroy: props.forceDestroy ?? false,
    });
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;

    const publicAccess = new S3BucketPublicAccessBlock(this, 'public-access', {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } });
    new S3BucketServerSideEncryptionConfiguration(this, 'encryption', {
      bucket: bucket.id,
      rule: [
        {
          applyServerSideEncryptionByDefault: props.kmsKeyArn ? { sseAlgorithm: 'aws:kms', kmsMasterKeyId: props.kmsKeyArn } : { sseAlgorithm: 'AES256' },
          bucketKeyEnabled: props.kmsKeyArn ? true : undefined,
        },
      ],
    });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: bucket.id,
      rule: [
        {
          id: 'expire-artifacts',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          expiration: [{ days: this.expirationDays }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
      ],
    });
    const tlsOnly = new DataAwsIamPolicyDocument(this, 'tls-only', {
      statement: [
        denyInsecureTransport('s3', [bucket.arn, `${bucket.arn}/*`]),
      ],
    });
    // After the public access block, which would otherwise be checked against a policy still being written.
    new S3BucketPolicy(this, 'policy', { bucket: bucket.id, policy: tlsOnly.json, dependsOn: [publicAccess] });
  }

  public grantWrite(grantee: IGrantable): void {
    grantee.addToPolicy('artifacts-write', [
      { actions: ['s3:PutObject'], resources: [`${this.bucketArn}/*`] },
      // Writing under a customer-managed key needs the key too: GenerateDataKey for every object, and
      // Decrypt for a multipart upload, whose parts S3 encrypts with the data key it decrypts again
      // (the SDK's managed uploads turn multipart above their part size).
      ...(this.kmsKeyArn ? [{ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.kmsKeyArn] }] : []),
    ]);
  }

  public grantRead(grantee: IGrantable): void {
    grantee.addToPolicy('artifacts-read', [
      { actions: ['s3:GetObject'], resources: [`${this.bucketArn}/*`] },
      ...(this.kmsKeyArn ? [{ actions: ['kms:Decrypt'], resources: [this.kmsKeyArn] }] : []),
    ]);
  }
}
