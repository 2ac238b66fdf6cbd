/**
 * How jobs in a network of your own reach what they need outside it, and the images they can pull
 * that way. Pure: BatchEnvironment and BatchGateway check these at construction and app/config.ts
 * for the configuration file, so all three say the same thing of the same mistake.
 */

/**
 * A job pulls its image, writes its logs to CloudWatch Logs and its artifacts to S3 (and its
 * execution role gets an ECR token): in subnets of your own, that traffic needs a way out.
 */
export const NETWORK_EGRESS = ['nat', 'public-ip', 'vpc-endpoints'] as const;
export type NetworkEgress = (typeof NETWORK_EGRESS)[number];

/** What an egress must be, after "must say how the jobs reach ...". */
export const EGRESS_RULE =
  "must say how the jobs reach ECR, CloudWatch Logs and S3: 'nat' (the subnets route to a NAT gateway), " +
  "'public-ip' (public subnets: each Fargate task gets a public IP) or " +
  "'vpc-endpoints' (no route out: the VPC has endpoints for ecr.api, ecr.dkr, logs and an S3 gateway endpoint)";

/** Whether `value` is one of {@link NETWORK_EGRESS}. */
export function isNetworkEgress(value: unknown): value is NetworkEgress {
  return (NETWORK_EGRESS as readonly unknown[]).includes(value);
}

/** An image no VPC endpoint serves: what it must be, and what to do (said after the value). */
export interface ImageEgressProblem {
  readonly message: string;
  readonly hint: string;
}

/**
 * The registry of an image that only the internet serves, among those AWS's VPC endpoints are
 * mistaken for: ECR Public (`public.ecr.aws/...`) and Docker Hub (`busybox`, `library/busybox`,
 * `docker.io/...`). Undefined for any other image (private ECR, or a registry of your own, which
 * may well be inside the VPC), and for a Terraform reference, unknown until apply.
 */
export function internetOnlyRegistryOf(image: string): string | undefined {
  if (image.includes('${')) return undefined;
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  // The first part names a registry only when it looks like a host (a dot, a port, or localhost); else Docker Hub.
  const host = /[.:]/.test(first) || first === 'localhost' ? first.toLowerCase() : 'docker.io';
  if (host === 'public.ecr.aws') return 'ECR Public (public.ecr.aws)';
  if (['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(host)) return 'Docker Hub';
  return undefined;
}

/**
 * With `vpc-endpoints`, an image from ECR Public or Docker Hub cannot be pulled: no VPC endpoint
 * serves them (the ECR endpoints serve private repositories only), so every job would fail with
 * CannotPullContainerError. `field` names the egress setting as the caller wrote it.
 */
export function imageEgressProblem(image: string, egress: NetworkEgress | undefined, field: string): ImageEgressProblem | undefined {
  if (egress !== 'vpc-endpoints') return undefined;
  const registry = internetOnlyRegistryOf(image);
  if (registry === undefined) return undefined;
  return {
    message: `must be an image a VPC endpoint serves, such as a private ECR image (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), since ${field} is 'vpc-endpoints'`,
    hint: `: no VPC endpoint serves ${registry}; mirror the image to a private ECR repository, or route the subnets through a NAT gateway (${field}: 'nat')`,
  };
}
