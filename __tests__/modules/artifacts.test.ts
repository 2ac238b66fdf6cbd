import { TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';
import { ArtifactsBucket, ArtifactsBucketProps } from '../../modules/artifacts';
import { ServiceRole } from '../../modules/shared/iam';
import { readableReference } from '../../scripts/lib/plan-summary';
import { Synthesized, onlyResource, refTo, roleNamed, synthStack } from '../helpers/synth';

const KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

/**
 * Synthesizes an `ArtifactsBucket` (`artifacts`) with `props`; `after` may add to the stack
 * (e.g. a grantee).
 */
function synthArtifacts(props: ArtifactsBucketProps = {}, after?: (stack: TerraformStack, artifacts: ArtifactsBucket) => void): Synthesized {
  return synthStack((stack) => {
    const artifacts = new ArtifactsBucket(stack, 'artifacts', props);
    after?.(stack, artifacts);
  });
}

/** The bucket's id, as every bucket setting refers to it. */
const bucketId = (json: Synthesized) => refTo(json, 'aws_s3_bucket', 'bucket', 'id');

const allow = (actions: string[], resources: string[]) => ({ effect: 'Allow', actions, resources });

describe('ArtifactsBucket (defaults)', () => {
  // Prepare + Act
  const json = synthArtifacts();
  const bucketArn = refTo(json, 'aws_s3_bucket', 'bucket', 'arn');

  it('takes a generated name from its prefix (bucket names are global) and is not force-destroyed', () => {
    expect(onlyResource(json, 'aws_s3_bucket')).toEqual({ bucket_prefix: 'test-artifacts-', force_destroy: false });
  });

  it('blocks every kind of public access', () => {
    expect(onlyResource(json, 'aws_s3_bucket_public_access_block')).toEqual({
      bucket: bucketId(json),
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
  });

  it('disables ACLs: the bucket owner owns every object', () => {
    expect(onlyResource(json, 'aws_s3_bucket_ownership_controls')).toEqual({ bucket: bucketId(json), rule: { object_ownership: 'BucketOwnerEnforced' } });
  });

  it('encrypts with SSE-S3 (AES256) by default, without a bucket key', () => {
    expect(onlyResource(json, 'aws_s3_bucket_server_side_encryption_configuration')).toEqual({
      bucket: bucketId(json),
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: 'AES256' } }],
    });
  });

  it('expires artifacts after 1 day and aborts incomplete multipart uploads after 1 day', () => {
    expect(onlyResource(json, 'aws_s3_bucket_lifecycle_configuration')).toEqual({
      bucket: bucketId(json),
      rule: [
        {
          id: 'expire-artifacts',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          expiration: [{ days: 1 }],
          abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }],
        },
      ],
    });
  });

  it('denies every S3 action without TLS, on the bucket and on its objects', () => {
    // Prepare
    const policy = onlyResource(json, 'aws_s3_bucket_policy');
    const [[documentId, document]] = Object.entries(json.data.aws_iam_policy_document);
    // Assess
    expect(Object.keys(json.data.aws_iam_policy_document)).toHaveLength(1);
    expect(policy.bucket).toBe(bucketId(json));
    expect(policy.policy).toBe(`\${data.aws_iam_policy_document.${documentId}.json}`);
    expect(document.statement).toEqual([
      {
        sid: 'DenyInsecureTransport',
        effect: 'Deny',
        actions: ['s3:*'],
        resources: [bucketArn, `${bucketArn}/*`],
        principals: [{ type: '*', identifiers: ['*'] }],
        condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
      },
    ]);
  });

  it('writes the bucket policy after the public access block', () => {
    expect(onlyResource(json, 'aws_s3_bucket_policy').depends_on).toEqual([
      `aws_s3_bucket_public_access_block.${Object.keys(json.resource.aws_s3_bucket_public_access_block)[0]}`,
    ]);
  });

  it('exposes its name and ARN by reference, and its expiration', () => {
    // Prepare + Act
    let expirationDays: number | undefined;
    const withOutputs = synthArtifacts({}, (stack, artifacts) => {
      new TerraformOutput(stack, 'name', { value: artifacts.bucketName });
      new TerraformOutput(stack, 'arn', { value: artifacts.bucketArn });
      expirationDays = artifacts.expirationDays;
    });
    // Assess
    expect(withOutputs.output?.name.value).toBe(refTo(withOutputs, 'aws_s3_bucket', 'bucket', 'bucket'));
    expect(withOutputs.output?.arn.value).toBe(refTo(withOutputs, 'aws_s3_bucket', 'bucket', 'arn'));
    expect(expirationDays).toBe(1);
  });
});

describe('ArtifactsBucket grants', () => {
  /** A role granted by `grant`, and the synthesized stack. */
  const granted = (grant: (artifacts: ArtifactsBucket, role: ServiceRole) => void) =>
    synthArtifacts({}, (stack, artifacts) => grant(artifacts, new ServiceRole(stack, 'grantee', { servicePrincipal: 'lambda.amazonaws.com' })));
  const objects = (json: Synthesized) => `${readableReference(refTo(json, 'aws_s3_bucket', 'bucket', 'arn'))}/*`;

  it("grantWrite allows PutObject on the bucket's keys, nothing else", () => {
    const json = granted((artifacts, role) => artifacts.grantWrite(role));
    expect(roleNamed(json, 'test-grantee').statements).toEqual([allow(['s3:PutObject'], [objects(json)])]);
  });

  it("grantRead allows GetObject on the bucket's keys, nothing else", () => {
    const json = granted((artifacts, role) => artifacts.grantRead(role));
    expect(roleNamed(json, 'test-grantee').statements).toEqual([allow(['s3:GetObject'], [objects(json)])]);
  });

  it('with a KMS key, lets grantWrite generate data keys and grantRead decrypt with that key (S3 calls KMS as the caller)', () => {
    // Prepare + Act
    const json = synthArtifacts({ kmsKeyArn: KMS_KEY_ARN }, (stack, artifacts) => {
      artifacts.grantWrite(new ServiceRole(stack, 'writer', { servicePrincipal: 'lambda.amazonaws.com' }));
      artifacts.grantRead(new ServiceRole(stack, 'reader', { servicePrincipal: 'lambda.amazonaws.com' }));
    });
    const kmsStatements = (role: string) => roleNamed(json, role).statements.filter((s) => s.actions.some((a) => a.startsWith('kms:')));
    // Assess: SSE-KMS PutObject needs kms:GenerateDataKey, a multipart upload (CreateMultipartUpload,
    // UploadPart) kms:Decrypt as well; GetObject (and a presigned link) kms:Decrypt.
    expect(kmsStatements('test-writer')).toEqual([expect.objectContaining({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [KMS_KEY_ARN] })]);
    expect(kmsStatements('test-reader')).toEqual([expect.objectContaining({ actions: expect.arrayContaining(['kms:Decrypt']), resources: [KMS_KEY_ARN] })]);
  });

  it('without a KMS key, grants nothing in KMS', () => {
    const json = granted((artifacts, role) => {
      artifacts.grantWrite(role);
      artifacts.grantRead(role);
    });
    expect(roleNamed(json, 'test-grantee').statements.flatMap((s) => s.actions).filter((a) => a.startsWith('kms:'))).toEqual([]);
  });

  it('grants both once each when asked twice', () => {
    const json = granted((artifacts, role) => {
      artifacts.grantWrite(role);
      artifacts.grantRead(role);
      artifacts.grantWrite(role);
    });
    expect(roleNamed(json, 'test-grantee').statements).toHaveLength(2);
  });
});

describe('ArtifactsBucket options', () => {
  it('encrypts with the given KMS key and a bucket key', () => {
    const json = synthArtifacts({ kmsKeyArn: KMS_KEY_ARN });
    expect(onlyResource(json, 'aws_s3_bucket_server_side_encryption_configuration').rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: KMS_KEY_ARN }, bucket_key_enabled: true },
    ]);
  });

  it('expires artifacts after expirationDays, still aborting uploads after 1 day', () => {
    // Prepare + Act
    const json = synthArtifacts({ expirationDays: 7 });
    const [rule] = onlyResource(json, 'aws_s3_bucket_lifecycle_configuration').rule;
    // Assess
    expect(rule.expiration).toEqual([{ days: 7 }]);
    expect(rule.abort_incomplete_multipart_upload).toEqual([{ days_after_initiation: 1 }]);
  });

  it('may be force-destroyed', () => {
    expect(onlyResource(synthArtifacts({ forceDestroy: true }), 'aws_s3_bucket').force_destroy).toBe(true);
  });

  it('keeps a long, mixed-case construct path within the 37 lowercase characters bucket_prefix allows', () => {
    const json = synthStack((stack) => new ArtifactsBucket(stack, 'Artifacts_For_A_Very_Long_Named_Deployment_Of_The_Gateway'));
    const prefix = onlyResource(json, 'aws_s3_bucket').bucket_prefix as string;
    expect(prefix.length).toBeLessThanOrEqual(37);
    expect(prefix).toMatch(/^[a-z0-9][a-z0-9-]*-$/);
  });

  it('leaves an expirationDays from a Terraform variable to Terraform', () => {
    const json = synthStack((stack) => {
      const days = new TerraformVariable(stack, 'days', { type: 'number' });
      new ArtifactsBucket(stack, 'artifacts', { expirationDays: days.numberValue });
    });
    expect(onlyResource(json, 'aws_s3_bucket_lifecycle_configuration').rule[0].expiration).toEqual([{ days: '${var.days}' }]);
  });
});

describe('ArtifactsBucket validation', () => {
  it('rejects expirationDays 0', () => {
    expect(() => synthArtifacts({ expirationDays: 0 })).toThrow(/^ArtifactsBucket: expirationDays must be a whole number of days from 1 to 3650 \(got 0\)/);
  });

  it('rejects expirationDays 1.5', () => {
    expect(() => synthArtifacts({ expirationDays: 1.5 })).toThrow(/expirationDays must be a whole number of days from 1 to 3650 \(got 1\.5\)/);
  });
});
