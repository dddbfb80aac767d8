"""What the providers would compute, filled in so a program's outputs resolve offline.

`PreviewMocks` answers resource registrations (outputs = inputs + the computed fields a provider sets:
ids, ARNs, endpoints, certificate data, auto-names) and invokes (data sources) with plausible values.
`servestack.preview.monitor` calls them for each request the program sends to the offline engine.

Every computed value is a deterministic function of (type, name), so two previews of the same stack
print the same graph. The AWS account id is the one AWS documentation uses for examples.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

__all__ = ["PreviewMocks", "EXAMPLE_AWS_ACCOUNT"]

EXAMPLE_AWS_ACCOUNT = "123456789012"
_DEFAULT_AWS_REGION = "us-east-1"
_DEFAULT_GCP_REGION = "us-central1"
_DEFAULT_GCP_PROJECT = "example-project"
_FAKE_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\noffline-preview\n-----END CERTIFICATE-----\n").decode()

# AWS id prefixes by resource type, as the EC2/EKS APIs shape them.
_AWS_ID_PREFIX: dict[str, str] = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt-",
    "aws:ec2/placementGroup:PlacementGroup": "pg-",
    "aws:ec2/instance:Instance": "i-",
    "aws:ec2/networkInterface:NetworkInterface": "eni-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:kms/key:Key": "",
}


def _digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


def _auto_name(name: str, type_: str) -> str:
    # Pulumi auto-naming appends 7 random hex characters; here they are derived from the type and name.
    return f"{name}-{_digest(type_, name, length=7)}"


def _service_of(type_: str) -> str:
    # "aws:ec2/vpc:Vpc" -> "ec2"; "aws:index/x:X" -> "aws"
    module = type_.split(":")[1].split("/")[0] if type_.count(":") >= 2 else "aws"
    return {"index": "aws", "eks": "eks", "iam": "iam", "ecr": "ecr"}.get(module, module)


def _kebab_resource(type_: str) -> str:
    last = type_.rsplit(":", 1)[-1]
    out = []
    for i, ch in enumerate(last):
        if ch.isupper() and i:
            out.append("-")
        out.append(ch.lower())
    return "".join(out)


@dataclass
class PreviewMocks(Mocks):
    """Provider behaviour for an offline preview; `config` is the stack's fully qualified config."""

    config: dict[str, str] = field(default_factory=dict)
    provider_inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Explicit provider resources by id, so a resource under `aws.Provider(region=...)` gets that region."""

    # ---- settings -------------------------------------------------------------------------------------
    def _aws_region(self, provider_ref: str | None = None) -> str:
        inputs = self._provider_for(provider_ref)
        region = inputs.get("region")
        if isinstance(region, str) and region:
            return region
        return self.config.get("aws:region") or _DEFAULT_AWS_REGION

    def _gcp_region(self, provider_ref: str | None = None) -> str:
        region = self._provider_for(provider_ref).get("region")
        if isinstance(region, str) and region:
            return region
        return self.config.get("gcp:region") or _DEFAULT_GCP_REGION

    def _gcp_project(self, provider_ref: str | None = None) -> str:
        project = self._provider_for(provider_ref).get("project")
        if isinstance(project, str) and project:
            return project
        return self.config.get("gcp:project") or _DEFAULT_GCP_PROJECT

    def _provider_for(self, ref: str | None) -> dict[str, Any]:
        if not ref:
            return {}
        return self.provider_inputs.get(ref.rsplit("::", 1)[-1], {})

    # ---- resources ------------------------------------------------------------------------------------
    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        type_, name = args.typ, args.name
        inputs = dict(args.inputs)
        if type_.startswith("pulumi:providers:"):
            resource_id = f"{_digest(type_, name, length=8)}-0000-4000-8000-{_digest(name, type_, length=12)}"
            self.provider_inputs[resource_id] = inputs
            return resource_id, inputs
        resource_id = args.resource_id or ""  # given for a read or an import
        package = type_.split(":", 1)[0]
        if package == "aws":
            return self._aws(type_, name, inputs, resource_id, args.provider)
        if package == "gcp":
            return self._gcp(type_, name, inputs, resource_id, args.provider)
        if package == "kubernetes":
            return self._kubernetes(type_, name, inputs, resource_id)
        state = dict(inputs)
        state.setdefault("name", _auto_name(name, type_))
        return resource_id or f"{name}-{_digest(type_, name, length=8)}", state

    def _aws(
        self, type_: str, name: str, inputs: dict[str, Any], resource_id: str, provider: str | None
    ) -> tuple[str, dict[str, Any]]:
        region = self._aws_region(provider)
        state = dict(inputs)
        physical = state.get("name") if isinstance(state.get("name"), str) else None
        if physical is None:
            physical = _auto_name(name, type_)
            state["name"] = physical
        prefix = _AWS_ID_PREFIX.get(type_)
        if resource_id:
            rid = resource_id
        elif prefix is not None:
            rid = prefix + _digest(type_, name)
        else:
            rid = physical
        service = _service_of(type_)
        if service == "iam":
            state.setdefault("arn", f"arn:aws:iam::{EXAMPLE_AWS_ACCOUNT}:{_kebab_resource(type_)}/{physical}")
            state.setdefault("uniqueId", "AROA" + _digest(type_, name, length=17).upper())
        else:
            state.setdefault("arn", f"arn:aws:{service}:{region}:{EXAMPLE_AWS_ACCOUNT}:{_kebab_resource(type_)}/{rid}")
        state.setdefault("region", region)
        tags = state.get("tags")
        # Only map-form tags have a tagsAll; an Auto Scaling group's tags are a list of {key, value, ...}.
        if isinstance(tags, dict) or tags is None:
            state.setdefault("tagsAll", dict(tags or {}))
        if type_ == "aws:eks/cluster:Cluster":
            host = _digest(type_, name, length=32).upper()
            state.setdefault("endpoint", f"https://{host}.gr7.{region}.eks.amazonaws.com")
            state.setdefault("certificateAuthority", {"data": _FAKE_CA})
            state.setdefault("identities", [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{host}"}]}])
            state.setdefault("status", "ACTIVE")
            state.setdefault("version", "1.33")
            state.setdefault("platformVersion", "eks.1")
            state.setdefault("clusterId", _digest(name, type_, length=36))
            vpc = dict(state.get("vpcConfig") or {})
            vpc.setdefault("clusterSecurityGroupId", "sg-" + _digest("cluster-sg", name))
            vpc.setdefault("vpcId", "vpc-" + _digest("cluster-vpc", name))
            state["vpcConfig"] = vpc
        elif type_ == "aws:eks/nodeGroup:NodeGroup":
            state.setdefault("nodeGroupName", physical)
            state.setdefault("status", "ACTIVE")
            state.setdefault(
                "resources",
                [{"autoscalingGroups": [{"name": f"eks-{physical}-{_digest(name, length=8)}"}],
                  "remoteAccessSecurityGroupId": ""}],
            )
        elif type_ == "aws:ec2/launchTemplate:LaunchTemplate":
            state.setdefault("latestVersion", 1)
            state.setdefault("defaultVersion", 1)
        elif type_ == "aws:ec2/vpc:Vpc":
            state.setdefault("defaultSecurityGroupId", "sg-" + _digest("default-sg", name))
            state.setdefault("mainRouteTableId", "rtb-" + _digest("main-rtb", name))
            state.setdefault("defaultRouteTableId", state["mainRouteTableId"])
            state.setdefault("defaultNetworkAclId", "acl-" + _digest("default-acl", name))
            state.setdefault("ownerId", EXAMPLE_AWS_ACCOUNT)
        elif type_ == "aws:ec2/subnet:Subnet":
            state.setdefault("availabilityZone", f"{region}a")
            state.setdefault("availabilityZoneId", f"use1-az{int(_digest(name, length=2), 16) % 6 + 1}")
            state.setdefault("ownerId", EXAMPLE_AWS_ACCOUNT)
        elif type_ == "aws:ec2/eip:Eip":
            state.setdefault("allocationId", rid)
            state.setdefault("publicIp", "203.0.113." + str(int(_digest(name, length=2), 16) % 254 + 1))
        elif type_ == "aws:ec2/natGateway:NatGateway":
            state.setdefault("publicIp", "198.51.100." + str(int(_digest(name, length=2), 16) % 254 + 1))
            state.setdefault("privateIp", "10.0.0." + str(int(_digest(name, length=2), 16) % 254 + 1))
        elif type_ == "aws:ecr/repository:Repository":
            state.setdefault("repositoryUrl", f"{EXAMPLE_AWS_ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{physical}")
            state.setdefault("registryId", EXAMPLE_AWS_ACCOUNT)
        elif type_ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            url = str(state.get("url", "")).removeprefix("https://")
            state["arn"] = f"arn:aws:iam::{EXAMPLE_AWS_ACCOUNT}:oidc-provider/{url}"
        elif type_ == "aws:lb/loadBalancer:LoadBalancer":
            state.setdefault("dnsName", f"{physical}-{_digest(name, length=10)}.elb.{region}.amazonaws.com")
        elif type_ == "aws:kms/key:Key":
            key_uuid = f"{_digest(name, length=8)}-{_digest(type_, length=4)}-4{_digest(name, type_, length=3)}"
            rid = resource_id or key_uuid
            state["arn"] = f"arn:aws:kms:{region}:{EXAMPLE_AWS_ACCOUNT}:key/{rid}"
            state.setdefault("keyId", rid)
        return rid, state

    def _gcp(
        self, type_: str, name: str, inputs: dict[str, Any], resource_id: str, provider: str | None
    ) -> tuple[str, dict[str, Any]]:
        project = str(inputs.get("project") or self._gcp_project(provider))
        region = self._gcp_region(provider)
        state = dict(inputs)
        physical = state.get("name") if isinstance(state.get("name"), str) else None
        if physical is None:
            physical = _auto_name(name, type_)
            state["name"] = physical
        state.setdefault("project", project)
        module = type_.split(":")[1].split("/")[0]
        location = str(state.get("location") or state.get("region") or region)
        if type_ == "gcp:container/cluster:Cluster":
            rid = f"projects/{project}/locations/{location}/clusters/{physical}"
            state.setdefault("endpoint", "10.0." + str(int(_digest(name, length=2), 16) % 254) + ".2")
            auth = dict(state.get("masterAuth") or {})
            auth.setdefault("clusterCaCertificate", _FAKE_CA)
            state["masterAuth"] = auth
            state.setdefault("masterVersion", "1.33.5-gke.1000000")
            state.setdefault("location", location)
            state.setdefault("labelFingerprint", _digest(name, length=8))
        elif type_ == "gcp:container/nodePool:NodePool":
            cluster = str(state.get("cluster") or "cluster")
            rid = f"projects/{project}/locations/{location}/clusters/{cluster.rsplit('/', 1)[-1]}/nodePools/{physical}"
            urls = [
                f"https://www.googleapis.com/compute/v1/projects/{project}/zones/{zone}/instanceGroupManagers/"
                f"gke-{physical}-{_digest(name, zone, length=8)}-grp"
                for zone in (state.get("nodeLocations") or [f"{region}-a"])
            ]
            state.setdefault("instanceGroupUrls", urls)
            state.setdefault("managedInstanceGroupUrls", urls)
            state.setdefault("version", "1.33.5-gke.1000000")
        elif module == "compute":
            collection = _kebab_resource(type_).replace("-", "")
            regional = "region" in state or type_.endswith((":Subnetwork", ":Router", ":RouterNat"))
            scope = f"regions/{region}" if regional else "global"
            rid = f"projects/{project}/{scope}/{collection}s/{physical}"
            state.setdefault("selfLink", f"https://www.googleapis.com/compute/v1/{rid}")
            if type_ == "gcp:compute/subnetwork:Subnetwork":
                state.setdefault("region", region)
                state.setdefault("gatewayAddress", "10.0.0.1")
        elif type_ == "gcp:artifactregistry/repository:Repository":
            loc = str(state.get("location") or region)
            repo_id = str(state.get("repositoryId") or physical)
            rid = f"projects/{project}/locations/{loc}/repositories/{repo_id}"
            state["name"] = repo_id
            state.setdefault("location", loc)
        elif type_ == "gcp:serviceaccount/account:Account":
            account_id = str(state.get("accountId") or physical)
            email = f"{account_id}@{project}.iam.gserviceaccount.com"
            rid = f"projects/{project}/serviceAccounts/{email}"
            state.setdefault("email", email)
            state.setdefault("member", f"serviceAccount:{email}")
            state.setdefault("uniqueId", str(int(_digest(name, length=12), 16)))
        else:
            rid = f"projects/{project}/{module}/{physical}"
        return resource_id or rid, state

    def _kubernetes(
        self, type_: str, name: str, inputs: dict[str, Any], resource_id: str
    ) -> tuple[str, dict[str, Any]]:
        state = dict(inputs)
        if type_ == "kubernetes:helm.sh/v3:Release":
            release = str(state.get("name") or _auto_name(name, type_))
            state["name"] = release
            state.setdefault("namespace", "default")
            state.setdefault("status", {"name": release, "namespace": state["namespace"], "status": "deployed",
                                        "revision": 1, "chart": state.get("chart", ""),
                                        "version": state.get("version", "")})
            return resource_id or f"{state['namespace']}/{release}", state
        metadata = dict(state.get("metadata") or {})
        metadata.setdefault("name", _auto_name(name, type_))
        namespaced = not type_.endswith(
            (":Namespace", ":ClusterRole", ":ClusterRoleBinding", ":CustomResourceDefinition", ":StorageClass",
             ":PersistentVolume", ":PriorityClass")
        )
        if namespaced:
            metadata.setdefault("namespace", "default")
        metadata.setdefault("uid", _digest(type_, name, length=32))
        state["metadata"] = metadata
        if type_ == "kubernetes:core/v1:Service":
            spec = state.get("spec") or {}
            if isinstance(spec, dict) and spec.get("type") == "LoadBalancer":
                state.setdefault(
                    "status", {"loadBalancer": {"ingress": [{"hostname": f"{metadata['name']}.elb.example.internal"}]}}
                )
        rid = f"{metadata['namespace']}/{metadata['name']}" if namespaced else str(metadata["name"])
        return resource_id or rid, state

    # ---- invokes --------------------------------------------------------------------------------------
    def call(self, args: MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        token = args.token
        a = args.args
        aws_region = self._aws_region(args.provider)
        gcp_region = self._gcp_region(args.provider)
        gcp_project = self._gcp_project(args.provider)
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{aws_region}{s}" for s in "abcdef"]
            return {"id": aws_region, "names": names, "zoneIds": [f"az{i}" for i in range(1, 7)],
                    "groupNames": [aws_region] * 6, "region": aws_region}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"id": EXAMPLE_AWS_ACCOUNT, "accountId": EXAMPLE_AWS_ACCOUNT,
                    "arn": f"arn:aws:iam::{EXAMPLE_AWS_ACCOUNT}:user/preview", "userId": "AIDAOFFLINEPREVIEW"}
        if token == "aws:index/getRegion:getRegion":
            region = str(a.get("region") or a.get("name") or aws_region)
            return {"id": region, "name": region, "region": region, "endpoint": f"ec2.{region}.amazonaws.com",
                    "description": region}
        if token == "aws:index/getPartition:getPartition":
            return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com",
                    "reverseDnsPrefix": "com.amazonaws"}
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            doc = _policy_document(a)
            return {"id": _digest(doc, length=10), "json": doc, "minifiedJson": doc}
        if token == "aws:ec2/getAmi:getAmi":
            ami = "ami-" + _digest(json.dumps(a, sort_keys=True, default=str))
            return {"id": ami, "imageId": ami, "architecture": "x86_64", "name": "offline-preview-ami",
                    "rootDeviceName": "/dev/xvda"}
        if token == "aws:ssm/getParameter:getParameter":
            pname = str(a.get("name", ""))
            value = ("ami-" + _digest(pname)) if "ami" in pname.lower() else "offline-preview"
            return {"id": pname, "name": pname, "value": value, "insecureValue": value, "type": "String",
                    "version": 1}
        if token == "aws:eks/getCluster:getCluster":
            cname = str(a.get("name", "cluster"))
            host = _digest("adopted", cname, length=32).upper()
            return {"id": cname, "name": cname,
                    "arn": f"arn:aws:eks:{aws_region}:{EXAMPLE_AWS_ACCOUNT}:cluster/{cname}",
                    "endpoint": f"https://{host}.gr7.{aws_region}.eks.amazonaws.com",
                    "certificateAuthorities": [{"data": _FAKE_CA}],
                    "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{aws_region}.amazonaws.com/id/{host}"}]}],
                    "roleArn": f"arn:aws:iam::{EXAMPLE_AWS_ACCOUNT}:role/{cname}-cluster",
                    "status": "ACTIVE", "version": "1.33", "platformVersion": "eks.1",
                    "vpcConfig": {"vpcId": "vpc-" + _digest("adopted-vpc", cname),
                                  "subnetIds": ["subnet-" + _digest("adopted-subnet", cname, z) for z in "ab"],
                                  "clusterSecurityGroupId": "sg-" + _digest("adopted-sg", cname),
                                  "endpointPrivateAccess": True, "endpointPublicAccess": False},
                    "tags": {}}
        if token == "aws:eks/getAddonVersion:getAddonVersion":
            return {"id": str(a.get("addonName", "addon")), "version": "v1.0.0-eksbuild.1"}
        if token == "gcp:organizations/getClientConfig:getClientConfig":
            return {"id": gcp_project, "project": gcp_project, "region": gcp_region, "zone": f"{gcp_region}-a",
                    "accessToken": "offline-preview-token"}
        if token == "gcp:organizations/getProject:getProject":
            pid = str(a.get("projectId") or gcp_project)
            return {"id": f"projects/{pid}", "projectId": pid, "name": pid,
                    "number": str(int(_digest(pid, length=10), 16) % 10**12)}
        if token == "gcp:compute/getZones:getZones":
            region = str(a.get("region") or gcp_region)
            return {"id": f"projects/{gcp_project}/regions/{region}", "names": [f"{region}-{s}" for s in "abc"],
                    "project": gcp_project, "region": region}
        if token == "gcp:container/getEngineVersions:getEngineVersions":
            return {"id": gcp_region, "latestMasterVersion": "1.33.5-gke.1000000",
                    "latestNodeVersion": "1.33.5-gke.1000000", "defaultClusterVersion": "1.33.5-gke.1000000",
                    "releaseChannelDefaultVersion": {"REGULAR": "1.33.5-gke.1000000"}}
        if token == "gcp:container/getCluster:getCluster":
            cname = str(a.get("name", "cluster"))
            location = str(a.get("location") or gcp_region)
            return {"id": f"projects/{gcp_project}/locations/{location}/clusters/{cname}", "name": cname,
                    "location": location, "project": gcp_project,
                    "endpoint": "10.0.0.2", "masterAuths": [{"clusterCaCertificate": _FAKE_CA}]}
        # A bare dict (not a (result, failures) tuple) is how the mock monitor takes a failure-free answer.
        # Unknown data sources: an empty result keeps the program running; fields read from it are None.
        return {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _policy_document(args: dict[str, Any]) -> str:
    """The IAM JSON that aws.iam.getPolicyDocument renders from its statements (the common fields)."""
    statements = []
    for st in _as_list(args.get("statements")):
        if not isinstance(st, dict):
            continue
        out: dict[str, Any] = {}
        if st.get("sid"):
            out["Sid"] = st["sid"]
        out["Effect"] = st.get("effect", "Allow")
        for src, dst in (("actions", "Action"), ("notActions", "NotAction"), ("resources", "Resource"),
                         ("notResources", "NotResource")):
            items = _as_list(st.get(src))
            if items:
                out[dst] = items[0] if len(items) == 1 else items
        for src, dst in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            principals: dict[str, Any] = {}
            for p in _as_list(st.get(src)):
                ids = _as_list(p.get("identifiers"))
                principals[str(p.get("type"))] = ids[0] if len(ids) == 1 else ids
            if principals:
                out[dst] = principals
        conditions: dict[str, dict[str, Any]] = {}
        for c in _as_list(st.get("conditions")):
            values = _as_list(c.get("values"))
            conditions.setdefault(str(c.get("test")), {})[str(c.get("variable"))] = (
                values[0] if len(values) == 1 else values
            )
        if conditions:
            out["Condition"] = conditions
        statements.append(out)
    return json.dumps({"Version": str(args.get("version") or "2012-10-17"), "Statement": statements})
