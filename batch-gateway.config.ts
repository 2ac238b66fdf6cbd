/**
 * The environments of this repository's app: one Terraform stack each (`cdktf.out/stacks/<name>`).
 * `npm start`, `npm run local` and `npm run plan-review` use `dev` unless told otherwise.
 * Every setting is documented on BatchGatewayProps (modules/gateway/index.ts); secrets stay in
 * the environment (AWS credentials, TF_TOKEN_app_terraform_io), never in this file.
 */
import { defineConfig } from './app/config';

/** Prints its message, sleeps, exits with the given code: enough to show success, failure and timeouts. */
const sample = {
  image: 'public.ecr.aws/docker/library/busybox:1.36',
  command: ['sh', '-c', 'echo "batch-gateway sample job: $0"; sleep "$1"; exit "$2"', 'Ref::message', 'Ref::sleepSeconds', 'Ref::exitCode'],
  parameters: { message: 'hello', sleepSeconds: '0', exitCode: '0' },
  maxRunTimeSeconds: 3600,
};

export default defineConfig({
  environments: {
    dev: {
      region: 'us-east-1',
      namePrefix: 'batch-gateway-dev',
      // The account-level API Gateway logging role (REST access logs need it): one per account and
      // region. dev sets it; set false where another stack (or the console) already did.
      manageApiGatewayAccount: true,
      routes: {
        sample,
        // The sample job with a 30-second deadline: `"sleepSeconds": "60"` shows a run ending TIMED_OUT.
        'sample-timeout': { ...sample, maxRunTimeSeconds: 30 },
        // The original demo: a Code 128 PNG of parameters.text, as a link.
        barcode: { lambda: 'barcode', maxRunTimeSeconds: 30 },
      },
    },
    // A production environment: its own prefix (nothing collides with dev in one account), its
    // state in a Terraform Cloud workspace, alarms by e-mail. Uncomment and adapt.
    // prod: {
    //   region: 'eu-west-1',
    //   namePrefix: 'batch-gateway-prod',
    //   cloud: { organization: 'acme', workspace: 'batch-gateway-prod' },
    //   routes: { sample: { ...sample, maxRunTimeSeconds: 7200 }, barcode: { lambda: 'barcode', maxRunTimeSeconds: 30 } },
    //   // Private subnets routed to a NAT gateway: the sample's image is on ECR Public, which no VPC
    //   // endpoint serves (egress: 'vpc-endpoints' takes private ECR images only; see the README).
    //   existingNetwork: { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'], egress: 'nat' },
    //   monitoring: { alarmEmail: 'oncall@example.com' },
    //   logRetentionDays: 90,
    // },
  },
});
