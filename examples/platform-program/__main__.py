"""A platform team's own Pulumi program: an EKS cluster with two L4 GPU node groups and an image registry,
built from servestack's components, with the team's own names, sizes and config.

Config (stacks/Pulumi.<stack>.yaml): `aws:region`, `platform:apiCidrs` (who may reach the cluster API),
`platform:gpuMaxNodes` (the burst group's maximum) and `servestack:budgetMonthlyUsd` (read by the budget pack).
"""

import pulumi

from servestack.components.aws import ContainerRegistry, EksCluster, GpuNodeGroup

config = pulumi.Config("platform")
region = pulumi.Config("aws").require("region")
environment = pulumi.get_stack()
tags = {"team": "ml-platform", "environment": environment, "cost-center": "cc-2100", "managed-by": "pulumi"}

cluster = EksCluster("inference", {
    "region": region,
    "zone_count": 2,
    "tags": tags,
    "api_access": "cidrs",
    "api_cidrs": config.require_object("apiCidrs"),
})

# One always-on on-demand node per zone, and a spot group the cluster autoscaler grows on demand.
node_group = {
    "cluster_name": cluster.cluster_name,
    "subnet_ids": cluster.private_subnet_ids,
    "instance_type": "g6.2xlarge",
    "accelerator": "L4",
    "accelerators_per_node": 1,
    "root_volume_gib": 150,
    "tags": tags,
}
GpuNodeGroup("l4-base", {**node_group, "pricing": "on_demand", "min_size": 2, "desired_size": 2, "max_size": 2})
GpuNodeGroup("l4-burst", {
    **node_group, "pricing": "spot", "min_size": 0, "desired_size": 0, "max_size": config.get_int("gpuMaxNodes") or 4,
})

registry = ContainerRegistry("images", {"tags": tags, "keep_images": 20})

pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
pulumi.export("registryUrl", registry.repository_url)
