"""Serves servestack's components to other Pulumi languages (`pulumi package add <path>/components`)."""

from pulumi.provider.experimental import component_provider_host

from servestack.components import all_components

if __name__ == "__main__":
    component_provider_host(all_components(), name="servestack", namespace="servestack")
