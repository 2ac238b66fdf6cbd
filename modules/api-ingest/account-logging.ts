import { ApiGatewayAccount } from '@cdktf/provider-aws/lib/api-gateway-account';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { ServiceRole } from '../shared/iam';
import { regionOf } from '../shared/naming';

/**
 * The account-level (per region) API Gateway setting that names the role API Gateway uses to
 * write logs. REST API access logs cannot be enabled without it. There is one such setting per
 * account and region: it replaces whatever role another stack set, so create it once per account
 * and region, in the stack that owns it.
 */
export class ApiGatewayAccountLogging extends Construct {
  public readonly resource: ApiGatewayAccount;
  public readonly roleArn: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Trust without aws:SourceArn/aws:SourceAccount: API Gateway documents neither for this role
    // (it serves every API of the account and region, so there is no one source ARN), and a
    // condition on a key it does not set would stop every API's logs here without an error.
    const role = new ServiceRole(this, 'role', {
      servicePrincipal: 'apigateway.amazonaws.com',
      description: 'API Gateway account-level role for CloudWatch Logs',
    });
    // Every log group of this account and region (the setting serves all APIs there); the
    // account and partition come from the role's own ARN, so nothing is looked up.
    const arnParts = Fn.split(':', role.roleArn);
    const logGroupsInAccount = `arn:${Fn.element(arnParts, 1)}:logs:${regionOf(this)}:${Fn.element(arnParts, 4)}:log-group:*`;
    role.addToPolicy('cloudwatch-logs', [
      {
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents', 'logs:GetLogEvents', 'logs:FilterLogEvents'],
        resources: [logGroupsInAccount],
      },
      // DescribeLogGroups supports no resource-level permissions.
      { actions: ['logs:DescribeLogGroups'], resources: ['*'] },
    ]);
    this.resource = new ApiGatewayAccount(this, 'account', {
      cloudwatchRoleArn: role.roleArn,
      // No reset_on_delete: deprecated in provider 5.x (a warning on every plan). Destroying this
      // resource only forgets the setting; the README says how to clear it after a teardown.
      // API Gateway checks the role when the setting is saved: its policy must be in place.
      dependsOn: [role.resource, ...role.policies],
    });
    this.roleArn = role.roleArn;
  }
}
