import { apiRoutes, changeAction, formatSummary, iamRoles, readableReference, summarize, SynthesizedConfig } from '../../scripts/lib/plan-summary';
import { TerraformPlanJson } from '../../scripts/lib/terraform';

const config: SynthesizedConfig = {
  resource: {
    aws_api_gateway_resource: {
      items_AAAAAAAA: { parent_id: '${aws_api_gateway_rest_api.api_BBBBBBBB.root_resource_id}', path_part: 'items' },
      item_CCCCCCCC: { parent_id: '${aws_api_gateway_resource.items_AAAAAAAA.id}', path_part: '{id}' },
    },
    aws_api_gateway_method: {
      post_DDDDDDDD: { http_method: 'POST', resource_id: '${aws_api_gateway_resource.items_AAAAAAAA.id}', authorization: 'AWS_IAM' },
      get_EEEEEEEE: { http_method: 'GET', resource_id: '${aws_api_gateway_resource.item_CCCCCCCC.id}', authorization: 'NONE', api_key_required: true },
    },
    aws_iam_role: {
      worker_FFFFFFFF: { name: 'worker', assume_role_policy: '${data.aws_iam_policy_document.trust_11111111.json}' },
      idle_22222222: { name: 'idle', assume_role_policy: '${data.aws_iam_policy_document.trust_11111111.json}' },
    },
    aws_iam_role_policy: {
      worker_items_33333333: { role: '${aws_iam_role.worker_FFFFFFFF.name}', policy: '${data.aws_iam_policy_document.items_44444444.json}' },
    },
    aws_iam_role_policy_attachment: {
      worker_managed_55555555: { role: '${aws_iam_role.worker_FFFFFFFF.name}', policy_arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
    },
  },
  data: {
    aws_iam_policy_document: {
      trust_11111111: { statement: [{ actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['lambda.amazonaws.com'] }] }] },
      items_44444444: { statement: [{ effect: 'Allow', actions: ['dynamodb:GetItem'], resources: ['${aws_dynamodb_table.items_66666666.arn}'] }] },
    },
  },
};

describe('plan summary', () => {
  it('turns references into readable addresses without hash suffixes', () => {
    expect(readableReference('${aws_dynamodb_table.items_66666666.arn}/stream/*')).toBe('aws_dynamodb_table.items.arn/stream/*');
  });

  it('names a delete-and-create a replacement', () => {
    expect(changeAction(['delete', 'create'])).toBe('replace');
    expect(changeAction(['create', 'delete'])).toBe('replace');
    expect(changeAction(['update'])).toBe('update');
    expect(changeAction(['no-op'])).toBe('no-op');
  });

  it('rebuilds route paths from resource parents', () => {
    expect(apiRoutes(config)).toEqual(['GET /items/{id}  (auth: NONE, API key)', 'POST /items  (auth: AWS_IAM)']);
  });

  it('lists each role with its trust, statements and managed policies', () => {
    expect(iamRoles(config)).toEqual([
      { address: 'aws_iam_role.idle_22222222', name: 'idle', trustedBy: ['lambda.amazonaws.com'], statements: [], managedPolicies: [] },
      {
        address: 'aws_iam_role.worker_FFFFFFFF',
        name: 'worker',
        trustedBy: ['lambda.amazonaws.com'],
        statements: [{ effect: 'Allow', actions: ['dynamodb:GetItem'], resources: ['aws_dynamodb_table.items.arn'] }],
        managedPolicies: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
      },
    ]);
  });

  it('counts managed resource changes by type and action, ignoring data sources', () => {
    const plan: TerraformPlanJson = {
      format_version: '1.2',
      resource_changes: [
        { address: 'aws_iam_role.a', type: 'aws_iam_role', name: 'a', mode: 'managed', change: { actions: ['create'], before: null, after: {} } },
        { address: 'aws_iam_role.b', type: 'aws_iam_role', name: 'b', mode: 'managed', change: { actions: ['delete', 'create'], before: {}, after: {} } },
        { address: 'data.aws_region.r', type: 'aws_region', name: 'r', mode: 'data', change: { actions: ['read'], before: null, after: {} } },
      ],
    };

    const summary = summarize(config, plan);

    expect(summary.actions).toEqual({ create: 1, replace: 1 });
    expect(summary.byType).toEqual({ aws_iam_role: { create: 1, replace: 1 } });
    expect(formatSummary(summary)).toContain('    (no permissions)');
  });
});
