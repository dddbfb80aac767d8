"""The servestack Pulumi program: `pulumi up -s <env>` deploys the stack that `servestack plan --write` chose.

Thin on purpose: reading and validating config and building resources live in servestack.components.
"""

import pulumi

from servestack.components.deployment import deploy_from_config
from servestack.errors import ServestackError

try:
    deploy_from_config()
except ServestackError as exc:
    pulumi.log.error(str(exc))
    raise SystemExit(exc.exit_code) from exc
