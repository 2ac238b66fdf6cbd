import { DefaultSecurityGroup } from '@cdktf/provider-aws/lib/default-security-group';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { Route } from '@cdktf/provider-aws/lib/route';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { assertLiteral, assertProp, physicalName } from '../shared/naming';

export interface MinimalNetworkProps {
  /** @default '10.80.0.0/16' */
  readonly cidrBlock?: string;
  /**
   * One public subnet per zone, by name (`us-west-1b`). Names map to different zones in different
   * accounts; `availabilityZoneIds` name the same zone everywhere. Not with `availabilityZoneIds`.
   * @default - two subnets in zones that AWS picks
   */
  readonly availabilityZones?: string[];
  /** One public subnet per zone, by zone ID (`usw1-az1`). Not with `availabilityZones`. @default - two subnets in zones that AWS picks */
  readonly availabilityZoneIds?: string[];
}

/**
 * Regions where Fargate runs in some zones only (ECS developer guide, "Supported Regions for
 * Amazon ECS on AWS Fargate"): a subnet AWS places elsewhere can never start a job.
 */
export const FARGATE_ZONE_IDS: Readonly<Record<string, readonly string[]>> = {
  'us-west-1': ['usw1-az1', 'usw1-az3'],
  'ap-northeast-1': ['apne1-az1', 'apne1-az2', 'apne1-az4'],
};

/**
 * A network for Fargate jobs that costs nothing while idle: public subnets behind an internet
 * gateway (tasks get a public IP to pull images and reach AWS APIs), no NAT gateway, a security
 * group that allows egress only, and the VPC's default security group emptied.
 */
export class MinimalNetwork extends Construct {
  public readonly vpcId: string;
  public readonly subnetIds: string[];
  public readonly securityGroupId: string;

  constructor(scope: Construct, id: string, props: MinimalNetworkProps = {}) {
    super(scope, id);
    const cidr = props.cidrBlock ?? '10.80.0.0/16';
    assertLiteral(cidr, isSmallIpv4Cidr, `MinimalNetwork: cidrBlock must be an IPv4 CIDR from /16 to /24 (got '${cidr}')`);
    assertProp(!(props.availabilityZones && props.availabilityZoneIds), 'MinimalNetwork: give availabilityZones or availabilityZoneIds, not both');
    const zones: { availabilityZone?: string; availabilityZoneId?: string }[] =
      props.availabilityZones?.map((availabilityZone) => ({ availabilityZone })) ??
      props.availabilityZoneIds?.map((availabilityZoneId) => ({ availabilityZoneId })) ?? [{}, {}];
    assertProp(zones.length >= 1 && zones.length <= 6, `MinimalNetwork: availabilityZones must list 1..6 zones (got ${zones.length})`);
    const name = physicalName(this);

    const vpc = new Vpc(this, 'vpc', {
      cidrBlock: cidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: name },
    });
    // The default security group allows all traffic between its members: leave it with no rules.
    new DefaultSecurityGroup(this, 'default-sg', { vpcId: vpc.id, tags: { Name: `${name}-default-unused` } });
    const igw = new InternetGateway(this, 'igw', { vpcId: vpc.id, tags: { Name: name } });
    const routes = new RouteTable(this, 'public-routes', {
      vpcId: vpc.id,
      tags: { Name: `${name}-public` },
    });
    new Route(this, 'default-route', { routeTableId: routes.id, destinationCidrBlock: '0.0.0.0/0', gatewayId: igw.id });
    this.subnetIds = zones.map((zone, i) => {
      const subnet = new Subnet(this, `public-${i}`, {
        vpcId: vpc.id,
        ...zone,
        // Each subnet is a sixteenth of the VPC range (a /20 of a /16).
        cidrBlock: Fn.cidrsubnet(vpc.cidrBlock, 4, i),
        mapPublicIpOnLaunch: false,
        tags: { Name: `${name}-public-${i}` },
      });
      new RouteTableAssociation(this, `public-${i}-routes`, { subnetId: subnet.id, routeTableId: routes.id });
      return subnet.id;
    });
    const sg = new SecurityGroup(this, 'jobs-sg', {
      name: `${name}-jobs`,
      description: 'batch-gateway jobs: egress only',
      vpcId: vpc.id,
      tags: { Name: `${name}-jobs` },
    });
    new VpcSecurityGroupEgressRule(this, 'jobs-egress', {
      securityGroupId: sg.id,
      description: 'Jobs pull images and call AWS APIs',
      ipProtocol: '-1',
      cidrIpv4: '0.0.0.0/0',
    });
    this.vpcId = vpc.id;
    this.securityGroupId = sg.id;
  }
}

/** An IPv4 CIDR with valid octets, a /16../24 prefix and no host bits set. */
function isSmallIpv4Cidr(cidr: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix < 16 || prefix > 24) return false;
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  return address % 2 ** (32 - prefix) === 0;
}
