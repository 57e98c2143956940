package awsapi

import "github.com/gameday-dev/gameday/sandbox/sim"

// The parts of an instance's DescribeInstances shape that the region does
// not hold as objects (botocore ec2 model: Instance.NetworkInterfaces,
// SecurityGroups, BlockDeviceMappings): its primary network interface, the
// web security group and its root volume, derived from the instance the
// same way DescribeSecurityGroups and DescribeVolumes derive them.

type ec2ENIAttachment struct {
	AttachmentID        string `xml:"attachmentId"`
	DeviceIndex         int32  `xml:"deviceIndex"`
	NetworkCardIndex    int32  `xml:"networkCardIndex"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type ec2PrivateIP struct {
	PrivateIPAddress string `xml:"privateIpAddress"`
	PrivateDNSName   string `xml:"privateDnsName"`
	Primary          bool   `xml:"primary"`
}

type ec2InstanceENI struct {
	NetworkInterfaceID string           `xml:"networkInterfaceId"`
	SubnetID           string           `xml:"subnetId"`
	VpcID              string           `xml:"vpcId"`
	Description        string           `xml:"description"`
	OwnerID            string           `xml:"ownerId"`
	Status             string           `xml:"status"`
	MacAddress         string           `xml:"macAddress"`
	PrivateIPAddress   string           `xml:"privateIpAddress"`
	PrivateDNSName     string           `xml:"privateDnsName"`
	SourceDestCheck    bool             `xml:"sourceDestCheck"`
	Groups             []ec2GroupRef    `xml:"groupSet>item"`
	Attachment         ec2ENIAttachment `xml:"attachment"`
	PrivateIPAddresses []ec2PrivateIP   `xml:"privateIpAddressesSet>item"`
	InterfaceType      string           `xml:"interfaceType"`
}

type ec2EBSInstanceBlockDevice struct {
	VolumeID            string `xml:"volumeId"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type ec2InstanceBDM struct {
	DeviceName string                    `xml:"deviceName"`
	Ebs        ec2EBSInstanceBlockDevice `xml:"ebs"`
}

func instanceENIID(instanceID string) string { return "eni-" + shortHash(instanceID+"/eni0", 17) }

func macOf(instanceID string) string {
	h := shortHash(instanceID+"/mac", 10)
	return "02:" + h[0:2] + ":" + h[2:4] + ":" + h[4:6] + ":" + h[6:8] + ":" + h[8:10]
}

func (h *handler) addInstanceAttachments(out *ec2Instance, i sim.Instance) {
	group := instanceGroup(i.VPCID)
	out.SecurityGroups = []ec2GroupRef{group}
	attached := iso(i.LaunchTime)
	out.BlockDeviceMappings = []ec2InstanceBDM{{DeviceName: "/dev/xvda", Ebs: ec2EBSInstanceBlockDevice{VolumeID: rootVolumeID(i.ID), Status: "attached", AttachTime: attached, DeleteOnTermination: true}}}
	eni := instanceENIID(i.ID)
	dns := privateDNS(i.PrivateIP, h.b.RegionName())
	if i.State == sim.StateStopped {
		dns = ""
	}
	out.NetworkInterfaces = []ec2InstanceENI{{
		NetworkInterfaceID: eni, SubnetID: i.SubnetID, VpcID: i.VPCID, OwnerID: h.b.AccountID(), Status: "in-use",
		MacAddress: macOf(i.ID), PrivateIPAddress: i.PrivateIP, PrivateDNSName: dns, SourceDestCheck: true,
		Groups:             []ec2GroupRef{group},
		Attachment:         ec2ENIAttachment{AttachmentID: "eni-attach-" + shortHash(eni, 17), Status: "attached", AttachTime: attached, DeleteOnTermination: true},
		PrivateIPAddresses: []ec2PrivateIP{{PrivateIPAddress: i.PrivateIP, PrivateDNSName: dns, Primary: true}},
		InterfaceType:      "interface",
	}}
}

func init() {
	live := func(f func(sim.Instance) string) func(sim.Instance) []string {
		return func(i sim.Instance) []string {
			if i.State == sim.StateTerminated {
				return nil
			}
			return one(f(i))
		}
	}
	instanceFields["instance.group-id"] = live(func(i sim.Instance) string { return instanceGroup(i.VPCID).GroupID })
	instanceFields["instance.group-name"] = live(func(i sim.Instance) string { return instanceGroup(i.VPCID).GroupName })
	instanceFields["network-interface.network-interface-id"] = live(func(i sim.Instance) string { return instanceENIID(i.ID) })
	instanceFields["block-device-mapping.volume-id"] = live(func(i sim.Instance) string { return rootVolumeID(i.ID) })
	instanceFields["block-device-mapping.device-name"] = live(func(sim.Instance) string { return "/dev/xvda" })
	actionNotes[ServiceEC2]["DescribeInstances"] = "Filters instance-id, instance-state-name/-code, availability-zone, subnet-id, vpc-id, instance-type, image-id, private-ip-address, reservation-id, instance.group-id/-name, network-interface.network-interface-id, block-device-mapping.volume-id/-device-name, tag:KEY, tag-key; terminated instances stay listed for a while. The shape carries the primary network interface, the web security group and the root volume (derived, as DescribeSecurityGroups and DescribeVolumes show them)."
}

// ec2ENIAttachInfo is NetworkInterfaceAttachment in DescribeNetworkInterfaces.
type ec2ENIAttachInfo struct {
	AttachmentID        string `xml:"attachmentId"`
	InstanceID          string `xml:"instanceId"`
	InstanceOwnerID     string `xml:"instanceOwnerId"`
	DeviceIndex         int32  `xml:"deviceIndex"`
	NetworkCardIndex    int32  `xml:"networkCardIndex"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

// instanceENIs are the primary interfaces of the instances that are not
// terminated, as DescribeNetworkInterfaces lists them (the same ids the
// instances' shapes carry).
func (h *handler) instanceENIs() []ec2ENI {
	azIDs := h.azIDs()
	var out []ec2ENI
	for _, i := range h.b.Instances() {
		if i.State == sim.StateTerminated {
			continue
		}
		id := instanceENIID(i.ID)
		out = append(out, ec2ENI{
			NetworkInterfaceID: id, SubnetID: i.SubnetID, VpcID: i.VPCID, AvailabilityZone: i.AZ, AvailabilityZoneID: azIDs[i.AZ],
			OwnerID: h.b.AccountID(), RequesterManaged: false, Status: "in-use", PrivateIPAddress: i.PrivateIP, SourceDestCheck: true,
			InterfaceType: "interface", MacAddress: macOf(i.ID), Groups: []ec2GroupRef{instanceGroup(i.VPCID)},
			Attachment: &ec2ENIAttachInfo{AttachmentID: "eni-attach-" + shortHash(id, 17), InstanceID: i.ID, InstanceOwnerID: h.b.AccountID(),
				Status: "attached", AttachTime: iso(i.LaunchTime), DeleteOnTermination: true},
		})
	}
	return out
}

func init() {
	eniFields["attachment.instance-id"] = func(e ec2ENI) []string {
		if e.Attachment == nil {
			return nil
		}
		return one(e.Attachment.InstanceID)
	}
	eniFields["group-id"] = func(e ec2ENI) []string {
		var out []string
		for _, g := range e.Groups {
			out = append(out, g.GroupID)
		}
		return out
	}
	eniFields["mac-address"] = func(e ec2ENI) []string { return one(e.MacAddress) }
	eniFields["private-ip-address"] = func(e ec2ENI) []string { return one(e.PrivateIPAddress) }
	actionNotes[ServiceEC2]["DescribeNetworkInterfaces"] = "The load balancer nodes' interfaces (requester amazon-elb, the node's loopback IP as the public IP) and the instances' primary interfaces (the ids their DescribeInstances shape carries); filters include description, attachment.instance-id, group-id, requester-id."
}
