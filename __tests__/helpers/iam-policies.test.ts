import { iamModelOf, TerraformValues } from './iam-policies';
import { parseSynthesized } from './synth';

/** A stack of a few resources, written as cdktf synthesizes them. */
const stack = parseSynthesized(
  JSON.stringify({
    provider: { aws: [{ region: 'eu-west-1' }] },
    data: {
      aws_region: { here: {} },
      aws_iam_policy_document: {
        trust: { statement: [{ actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['lambda.amazonaws.com'] }] }] },
        grant: {
          statement: [
            { effect: 'Allow', actions: ['dynamodb:UpdateItem'], resources: ['${aws_dynamodb_table.runs.arn}'] },
            {
              effect: 'Allow',
              actions: ['batch:TerminateJob'],
              resources: ['${replace(aws_batch_job_queue.queue.arn, "/job-queue/.*$/", "job/*")}'],
              condition: [{ test: 'StringEquals', variable: 'aws:ResourceTag/q', values: ['${aws_batch_job_queue.queue.arn}'] }],
            },
          ],
        },
        'tls-only': {
          statement: [
            {
              sid: 'DenyInsecureTransport',
              effect: 'Deny',
              actions: ['s3:*'],
              resources: ['${aws_s3_bucket.bucket.arn}', '${aws_s3_bucket.bucket.arn}/*'],
              principals: [{ type: '*', identifiers: ['*'] }],
              condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
            },
          ],
        },
      },
    },
    resource: {
      aws_dynamodb_table: { runs: { name: 'runs' } },
      aws_batch_job_queue: { queue: { name: 'jobs' } },
      aws_s3_bucket: { bucket: { bucket: 'artifacts' } },
      aws_cloudwatch_log_group: { logs: { name: '/aws/lambda/fn' } },
      aws_iam_role: { role: { name: 'fn-role-${data.aws_region.here.name}', assume_role_policy: '${data.aws_iam_policy_document.trust.json}' } },
      aws_iam_role_policy: { grant: { name: 'grant', role: '${aws_iam_role.role.name}', policy: '${data.aws_iam_policy_document.grant.json}' } },
      aws_s3_bucket_policy: { tls: { bucket: '${aws_s3_bucket.bucket.id}', policy: '${data.aws_iam_policy_document.tls-only.json}' } },
      aws_lambda_function: { fn: { function_name: 'fn', role: '${aws_iam_role.role.arn}' } },
      aws_lambda_permission: { invoke: { action: 'lambda:InvokeFunction', function_name: '${aws_lambda_function.fn.function_name}', principal: 'apigateway.amazonaws.com', source_arn: 'arn:aws:execute-api:eu-west-1:111122223333:abc/*/$connect' } },
    },
  }),
);

describe('TerraformValues', () => {
  const values = new TerraformValues(stack);

  it('resolves references to the ARNs AWS builds, in the example account and the provider region', () => {
    expect(values.resolve('${aws_dynamodb_table.runs.arn}')).toBe('arn:aws:dynamodb:eu-west-1:111122223333:table/runs');
    expect(values.resolve('${aws_dynamodb_table.runs.stream_arn}')).toBe('arn:aws:dynamodb:eu-west-1:111122223333:table/runs/stream/2026-01-01T00:00:00.000');
    // The provider's log group ARN has no `:*`; grants append it.
    expect(values.resolve('${aws_cloudwatch_log_group.logs.arn}:*')).toBe('arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/fn:*');
    expect(values.resolve('${aws_iam_role.role.arn}')).toBe('arn:aws:iam::111122223333:role/fn-role-eu-west-1');
  });

  it('evaluates the functions the stack uses, and Terraform’s escape of a literal ${', () => {
    expect(values.resolve('${element(split(":", aws_dynamodb_table.runs.arn), 4)}')).toBe('111122223333');
    expect(values.resolve('${replace(aws_batch_job_queue.queue.arn, "/job-queue/.*$/", "job/*")}')).toBe('arn:aws:batch:eu-west-1:111122223333:job/*');
    expect(values.resolve('#set($x = "$${literal}")')).toBe('#set($x = "${literal}")');
  });

  it('fails loudly on what it cannot evaluate', () => {
    expect(() => values.resolve('${timestamp()}')).toThrow('does not evaluate the Terraform function timestamp()');
    expect(() => values.resolve('${aws_dynamodb_table.runs.hash_key_type}')).toThrow('does not know aws_dynamodb_table.hash_key_type');
  });
});

describe('iamModelOf', () => {
  const model = iamModelOf(stack);

  it('attaches inline policies and the trust policy to their role, rendered as IAM JSON', () => {
    expect(model.roles).toEqual([
      {
        name: 'fn-role-eu-west-1',
        arn: 'arn:aws:iam::111122223333:role/fn-role-eu-west-1',
        sessionArn: 'arn:aws:sts::111122223333:assumed-role/fn-role-eu-west-1/example-session',
        trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole'], Principal: { Service: ['lambda.amazonaws.com'] } }] },
        identityPolicies: [
          {
            name: 'grant',
            policy: {
              Version: '2012-10-17',
              Statement: [
                { Effect: 'Allow', Action: ['dynamodb:UpdateItem'], Resource: ['arn:aws:dynamodb:eu-west-1:111122223333:table/runs'] },
                {
                  Effect: 'Allow',
                  Action: ['batch:TerminateJob'],
                  Resource: ['arn:aws:batch:eu-west-1:111122223333:job/*'],
                  Condition: { StringEquals: { 'aws:ResourceTag/q': ['arn:aws:batch:eu-west-1:111122223333:job-queue/jobs'] } },
                },
              ],
            },
          },
        ],
      },
    ]);
  });

  it('renders resource policies on what they protect: a Deny for everyone, a function permission with its source', () => {
    const owners = Object.fromEntries(model.resourcePolicies.map((p) => [p.owner, p.policy.Statement]));

    expect(owners['arn:aws:s3:::artifacts']).toEqual([
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: ['s3:*'],
        Resource: ['arn:aws:s3:::artifacts', 'arn:aws:s3:::artifacts/*'],
        Condition: { Bool: { 'aws:SecureTransport': ['false'] } },
      },
    ]);
    expect(owners['arn:aws:lambda:eu-west-1:111122223333:function:fn']).toEqual([
      {
        Sid: 'invoke',
        Effect: 'Allow',
        Principal: { Service: ['apigateway.amazonaws.com'] },
        Action: ['lambda:InvokeFunction'],
        Resource: ['arn:aws:lambda:eu-west-1:111122223333:function:fn'],
        Condition: { ArnLike: { 'AWS:SourceArn': ['arn:aws:execute-api:eu-west-1:111122223333:abc/*/$connect'] } },
      },
    ]);
    expect(owners['arn:aws:iam::111122223333:role/fn-role-eu-west-1']).toEqual(model.roles[0].trustPolicy.Statement);
  });
});
