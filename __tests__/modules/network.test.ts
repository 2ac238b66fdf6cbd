import { TerraformOutput, TerraformVariable } from 'cdktf';
import { MinimalNetwork, MinimalNetworkProps } from '../../modules/network';
import { Synthesized, onlyResource, refTo, resourceNamed, resourcesOf, synthStack } from '../helpers/synth';

/** Synthesizes one `MinimalNetwork` with id `net`. */
function synthNetwork(props?: MinimalNetworkProps): Synthesized {
  return synthStack((stack) => {
    new MinimalNetwork(stack, 'net', props);
  });
}

describe('MinimalNetwork (defaults)', () => {
  // Prepare + Act
  const json = synthNetwork();
  const vpcId = refTo(json, 'aws_vpc', 'vpc', 'id');

  it('creates a VPC with the default CIDR and DNS support and hostnames', () => {
    // Assess
    expect(onlyResource(json, 'aws_vpc')).toMatchObject({
      cidr_block: '10.80.0.0/16',
      enable_dns_support: true,
      enable_dns_hostnames: true,
    });
  });

  it('routes 0.0.0.0/0 of the public route table to an internet gateway of the VPC', () => {
    expect(onlyResource(json, 'aws_internet_gateway').vpc_id).toBe(vpcId);
    expect(onlyResource(json, 'aws_route_table').vpc_id).toBe(vpcId);
    expect(onlyResource(json, 'aws_route')).toEqual({
      route_table_id: refTo(json, 'aws_route_table', 'public-routes', 'id'),
      destination_cidr_block: '0.0.0.0/0',
      gateway_id: refTo(json, 'aws_internet_gateway', 'igw', 'id'),
    });
  });

  it('creates two public subnets with CIDRs cut from the VPC range', () => {
    const subnets = resourcesOf(json, 'aws_subnet');
    expect(Object.keys(subnets)).toHaveLength(2);
    [0, 1].forEach((i) => {
      const subnet = resourceNamed(json, 'aws_subnet', `public-${i}_`);
      expect(subnet.vpc_id).toBe(vpcId);
      expect(subnet.cidr_block).toBe(`\${cidrsubnet(aws_vpc.${Object.keys(resourcesOf(json, 'aws_vpc'))[0]}.cidr_block, 4, ${i})}`);
    });
  });

  it('gives instances in the subnets no public IP by default', () => {
    Object.values(resourcesOf(json, 'aws_subnet')).forEach((subnet) => expect(subnet.map_public_ip_on_launch).toBe(false));
  });

  it('leaves the zones of the subnets to AWS', () => {
    Object.values(resourcesOf(json, 'aws_subnet')).forEach((subnet) => expect(subnet.availability_zone).toBeUndefined());
  });

  it('associates every subnet with the public route table', () => {
    const associations = Object.values(resourcesOf(json, 'aws_route_table_association'));
    expect(associations).toHaveLength(2);
    expect(associations.map((a) => a.subnet_id).sort()).toEqual([
      refTo(json, 'aws_subnet', 'public-0_', 'id'),
      refTo(json, 'aws_subnet', 'public-1_', 'id'),
    ]);
    associations.forEach((a) => expect(a.route_table_id).toBe(refTo(json, 'aws_route_table', 'public-routes', 'id')));
  });

  it('has a jobs security group with no inline rules and exactly one egress rule resource', () => {
    const sg = onlyResource(json, 'aws_security_group');
    expect(sg.vpc_id).toBe(vpcId);
    expect(sg.ingress).toBeUndefined();
    expect(sg.egress).toBeUndefined();
    expect(onlyResource(json, 'aws_vpc_security_group_egress_rule')).toMatchObject({
      security_group_id: refTo(json, 'aws_security_group', 'jobs-sg', 'id'),
      ip_protocol: '-1',
      cidr_ipv4: '0.0.0.0/0',
    });
    expect(resourcesOf(json, 'aws_vpc_security_group_ingress_rule')).toEqual({});
    expect(resourcesOf(json, 'aws_security_group_rule')).toEqual({});
  });

  it('takes over the default security group of the VPC and leaves it without rules', () => {
    const defaultSg = onlyResource(json, 'aws_default_security_group');
    expect(defaultSg.vpc_id).toBe(vpcId);
    expect(defaultSg.ingress).toBeUndefined();
    expect(defaultSg.egress).toBeUndefined();
  });

  it('creates no NAT gateway and no elastic IP', () => {
    expect(resourcesOf(json, 'aws_nat_gateway')).toEqual({});
    expect(resourcesOf(json, 'aws_eip')).toEqual({});
  });
});

describe('MinimalNetwork options', () => {
  it('uses the given CIDR', () => {
    // Prepare + Act
    const json = synthNetwork({ cidrBlock: '172.20.0.0/20' });
    // Assess
    expect(onlyResource(json, 'aws_vpc').cidr_block).toBe('172.20.0.0/20');
  });

  it('creates one subnet in each given zone, each with its own CIDR and route table association', () => {
    // Prepare
    const zones = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];
    // Act
    const json = synthNetwork({ availabilityZones: zones });
    // Assess
    const vpcCidr = `aws_vpc.${Object.keys(resourcesOf(json, 'aws_vpc'))[0]}.cidr_block`;
    zones.forEach((zone, i) => {
      const subnet = resourceNamed(json, 'aws_subnet', `public-${i}_`);
      expect(subnet.availability_zone).toBe(zone);
      expect(subnet.cidr_block).toBe(`\${cidrsubnet(${vpcCidr}, 4, ${i})}`);
      expect(resourceNamed(json, 'aws_route_table_association', `public-${i}-routes`).subnet_id).toBe(refTo(json, 'aws_subnet', `public-${i}_`, 'id'));
    });
    expect(Object.keys(resourcesOf(json, 'aws_subnet'))).toHaveLength(3);
    expect(Object.keys(resourcesOf(json, 'aws_route_table_association'))).toHaveLength(3);
  });

  it('exposes the VPC, the subnets and the security group as references', () => {
    // Prepare + Act: outputs show what the attributes resolve to
    const json = synthStack((stack) => {
      const network = new MinimalNetwork(stack, 'net', { availabilityZones: ['eu-west-1a'] });
      new TerraformOutput(stack, 'vpcId', { value: network.vpcId });
      new TerraformOutput(stack, 'subnetIds', { value: network.subnetIds });
      new TerraformOutput(stack, 'securityGroupId', { value: network.securityGroupId });
    });
    // Assess
    const exposed = Object.fromEntries(Object.entries(json.output ?? {}).map(([name, o]) => [name, o.value]));
    expect(exposed).toEqual({
      vpcId: refTo(json, 'aws_vpc', 'vpc', 'id'),
      subnetIds: [refTo(json, 'aws_subnet', 'public-0_', 'id')],
      securityGroupId: refTo(json, 'aws_security_group', 'jobs-sg', 'id'),
    });
  });
});

describe('MinimalNetwork validation', () => {
  it.each([
    ['a /8', '10.0.0.0/8'],
    ['a /25', '10.80.0.0/25'],
    ['no prefix', '10.80.0.0'],
    ['not an address', 'ten.eighty.0.0/16'],
  ])('rejects a cidrBlock with %s', (_, cidrBlock) => {
    expect(() => synthNetwork({ cidrBlock })).toThrow(`MinimalNetwork: cidrBlock must be an IPv4 CIDR from /16 to /24 (got '${cidrBlock}')`);
  });

  it('rejects a cidrBlock with an octet above 255', () => {
    expect(() => synthNetwork({ cidrBlock: '10.300.0.0/16' })).toThrow(/cidrBlock must be an IPv4 CIDR .*\(got '10\.300\.0\.0\/16'\)/);
  });

  it.each([
    [0, []],
    [7, ['a', 'b', 'c', 'd', 'e', 'f', 'g']],
  ])('rejects %s availability zones', (count, availabilityZones) => {
    expect(() => synthNetwork({ availabilityZones })).toThrow(`MinimalNetwork: availabilityZones must list 1..6 zones (got ${count})`);
  });

  it('accepts 1 and 6 zones', () => {
    expect(() => synthNetwork({ availabilityZones: ['a'] })).not.toThrow();
    expect(() => synthNetwork({ availabilityZones: ['a', 'b', 'c', 'd', 'e', 'f'] })).not.toThrow();
  });

  it('leaves an unresolved cidrBlock to Terraform', () => {
    expect(() =>
      synthStack((stack) => {
        const cidrBlock = new TerraformVariable(stack, 'cidr', { type: 'string' }).stringValue;
        new MinimalNetwork(stack, 'net', { cidrBlock });
      }),
    ).not.toThrow();
  });
});
