"""The file names of :class:`~milestonebill.stores.sqlite.SQLiteTenantFiles`:
one per tenant, safe, and read back to the tenant."""

from __future__ import annotations

import tempfile

from hypothesis import example, given
from hypothesis import strategies as st

from milestonebill.errors import ValidationError
from milestonebill.stores.sqlite import MAX_TENANT_FILE_NAME, SQLiteTenantFiles
from milestonebill.stores.tenancy import check_tenant

FILES = SQLiteTenantFiles("/nowhere")


def _valid(t: str) -> bool:
    try:
        check_tenant(t)
    except ValidationError:
        return False
    return True


tenant_ids = st.text(min_size=1, max_size=40).filter(_valid)


@given(tenant_ids)
def test_a_file_name_is_one_safe_path_component(tenant: str) -> None:
    path = FILES.path(tenant)
    name = path.name
    assert (path.parent.as_posix(), name.isascii(), "/" in name, "\\" in name,
            name.startswith("."), len(name.encode()) <= MAX_TENANT_FILE_NAME) == (
        "/nowhere", True, False, False, False, True)


@given(tenant_ids, tenant_ids)
@example("Acme", "acme")
@example("%41cme", "Acme")
@example("con", "%63on")
def test_two_tenants_never_share_a_file_even_ignoring_case(a: str, b: str) -> None:
    same = FILES.path(a).name.lower() == FILES.path(b).name.lower()
    assert same == (a == b)


@given(tenant_ids)
def test_a_file_name_reads_back_to_its_tenant(tenant: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = SQLiteTenantFiles(tmp)
        files.path(tenant).write_bytes(b"")
        assert files.tenants() == [tenant]
