"""Wall time and peak RSS of `servestack preview --json` as a process.

Runs on servestack's own program for every stack file in stacks/ (when the repository has them), on the
test fixture's stacks, and on a synthetic ~300-resource program generated into a temporary directory.
Targets: under 4 s for the example stacks, under 8 s for 300 resources.

    .venv/bin/python benchmarks/bench_preview.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "preview" / "fixtures" / "aws_small"

SYNTHETIC_MAIN = '''\
"""A synthetic program: one VPC, cluster and Kubernetes provider, then GROUPS serving groups of 6 resources."""
import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

GROUPS = {groups}

vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
cluster = aws.eks.Cluster("cluster", role_arn="arn:aws:iam::123456789012:role/eks",
                          vpc_config={{"subnet_ids": [vpc.id]}})
provider = k8s.Provider("k8s", kubeconfig=cluster.endpoint.apply(lambda e: "{{\\"server\\": \\"" + e + "\\"}}"))


class Group(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("bench:index:Group", name, None, None)
        child = pulumi.ResourceOptions(parent=self)
        lt = aws.ec2.LaunchTemplate(f"{{name}}-lt", metadata_options={{"http_tokens": "required"}}, opts=child)
        aws.eks.NodeGroup(
            f"{{name}}-ng", cluster_name=cluster.name, node_role_arn="arn:aws:iam::123456789012:role/node",
            subnet_ids=[vpc.id], instance_types=["g6.xlarge"], capacity_type="ON_DEMAND",
            scaling_config={{"desired_size": 1, "min_size": 1, "max_size": 2}},
            launch_template={{"id": lt.id, "version": lt.latest_version.apply(str)}}, opts=child,
        )
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        labels = {{"app": name}}
        k8s.apps.v1.Deployment(f"{{name}}-dep", metadata={{"name": name}}, spec={{
            "replicas": 2, "selector": {{"match_labels": labels}},
            "template": {{"metadata": {{"labels": labels}}, "spec": {{"containers": [
                {{"name": "vllm", "image": "vllm/vllm-openai:v0.11.0"}}]}}}}}}, opts=k8s_opts)
        k8s.core.v1.Service(f"{{name}}-svc", metadata={{"name": name}},
                            spec={{"selector": labels, "ports": [{{"port": 80}}]}}, opts=k8s_opts)
        k8s.policy.v1.PodDisruptionBudget(f"{{name}}-pdb", metadata={{"name": name}},
                                          spec={{"min_available": 1, "selector": {{"match_labels": labels}}}},
                                          opts=k8s_opts)
        self.register_outputs({{}})


for i in range(GROUPS):
    Group(f"g{{i}}")
pulumi.export("endpoint", cluster.endpoint)
'''


def write_synthetic(directory: Path, groups: int) -> None:
    (directory / "Pulumi.yaml").write_text("name: bench\nruntime: python\n")
    (directory / "Pulumi.bench.yaml").write_text("config:\n  aws:region: us-east-1\n")
    (directory / "__main__.py").write_text(SYNTHETIC_MAIN.format(groups=groups))


def run_once(project: Path, stack: str) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, resources) of one `servestack preview --json` process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "servestack.cli", "preview", "-C", str(project), "-s", stack, "--json"],
            stdout=out, stderr=err,
        )
        # wait4 gives this child's own resource usage (ru_maxrss in KiB on Linux).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            detail = err.read().decode()[-2000:]
            raise SystemExit(f"preview of {project} -s {stack} failed ({proc.returncode}): {detail}")
        count = len(json.loads(out.read())["resources"])
    return wall, usage.ru_maxrss / 1024, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best wall time is reported")
    parser.add_argument("--groups", type=int, default=50, help="synthetic groups of 6 resources (+3)")
    args = parser.parse_args()

    cases: list[tuple[str, Path, str, float]] = []
    if (REPO / "Pulumi.yaml").is_file() and (REPO / "stacks").is_dir():
        for f in sorted((REPO / "stacks").glob("Pulumi.*.yaml")):
            cases.append((f"servestack {f.stem.split('.', 1)[1]}", REPO, f.stem.split(".", 1)[1], 4.0))
    for stack in ("dev", "staging"):
        cases.append((f"fixture {stack}", FIXTURE, stack, 4.0))

    with tempfile.TemporaryDirectory() as tmp:
        synthetic = Path(tmp)
        write_synthetic(synthetic, args.groups)
        cases.append(("synthetic", synthetic, "bench", 8.0))
        print(f"{'case':<28} {'resources':>9} {'best s':>8} {'median s':>9} {'peak RSS MiB':>13} {'target s':>9}")
        failed = False
        for label, project, stack, target in cases:
            walls: list[float] = []
            count = 0
            rss = 0.0
            for _ in range(max(1, args.repeat)):
                wall, run_rss, count = run_once(project, stack)
                walls.append(wall)
                rss = max(rss, run_rss)
            walls.sort()
            median = walls[len(walls) // 2]
            ok = walls[0] < target
            failed |= not ok
            print(f"{label:<28} {count:>9} {walls[0]:>8.2f} {median:>9.2f} {rss:>13.0f} {target:>9.1f}"
                  f"{'' if ok else '  SLOW'}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
