"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 07:57:40.835228
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "asset_classes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=200), nullable=False),
        sa.Column("make", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("ppm_interval_days", sa.Integer(), nullable=True),
        sa.Column("criticality", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_classes")),
        sa.UniqueConstraint("name", name=op.f("uq_asset_classes_name")),
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entries_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_entries_entity", ["entity", "entity_id"], unique=False)

    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("name", name=op.f("uq_sites_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "buildings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_buildings_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buildings")),
        sa.UniqueConstraint("site_id", "name", name="uq_buildings_site_name"),
    )
    with op.batch_alter_table("buildings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_buildings_site_id"), ["site_id"], unique=False)

    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_tokens_secret_hash")),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "floors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("metres_per_pixel", sa.Float(), nullable=True),
        sa.Column("plan_file", sa.String(length=80), nullable=True),
        sa.Column("plan_width_px", sa.Integer(), nullable=True),
        sa.Column("plan_height_px", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_floors_building_id_buildings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_floors")),
        sa.UniqueConstraint("building_id", "name", name="uq_floors_building_name"),
    )
    with op.batch_alter_table("floors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_floors_building_id"), ["building_id"], unique=False)

    op.create_table(
        "zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("floor_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("polygon", sa.JSON(), nullable=True),
        sa.Column("geo_polygon", sa.JSON(), nullable=True),
        sa.Column("gln", sa.String(length=13), nullable=True),
        sa.ForeignKeyConstraint(["floor_id"], ["floors.id"], name=op.f("fk_zones_floor_id_floors")),
        sa.ForeignKeyConstraint(["parent_id"], ["zones.id"], name=op.f("fk_zones_parent_id_zones")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_zones_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
        sa.UniqueConstraint("gln", name=op.f("uq_zones_gln")),
        sa.UniqueConstraint("site_id", "name", name="uq_zones_site_name"),
    )
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zones_floor_id"), ["floor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_zones_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_zones_site_id"), ["site_id"], unique=False)

    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_number", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("serial", sa.String(length=200), nullable=False),
        sa.Column("giai", sa.String(length=30), nullable=True),
        sa.Column("class_id", sa.Integer(), nullable=True),
        sa.Column("home_zone_id", sa.Integer(), nullable=True),
        sa.Column("department", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("last_ppm", sa.Date(), nullable=True),
        sa.Column("next_ppm_due", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"], ["asset_classes.id"], name=op.f("fk_assets_class_id_asset_classes")
        ),
        sa.ForeignKeyConstraint(
            ["home_zone_id"], ["zones.id"], name=op.f("fk_assets_home_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sa.UniqueConstraint("asset_number", name=op.f("uq_assets_asset_number")),
        sa.UniqueConstraint("giai", name=op.f("uq_assets_giai")),
    )
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assets_class_id"), ["class_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assets_home_zone_id"), ["home_zone_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assets_next_ppm_due"), ["next_ppm_due"], unique=False)
        batch_op.create_index(batch_op.f("ix_assets_state"), ["state"], unique=False)

    op.create_table(
        "receivers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("technology", sa.String(length=32), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_receivers_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivers")),
        sa.UniqueConstraint("name", name=op.f("uq_receivers_name")),
        sa.UniqueConstraint("technology", "identifier", name="uq_receivers_technology_identifier"),
    )
    with op.batch_alter_table("receivers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receivers_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("technology", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_identifiers_asset_id_assets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identifiers")),
        sa.UniqueConstraint("technology", "value", name="uq_identifiers_technology_value"),
    )
    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identifiers_asset_id"), ["asset_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("identifiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identifiers_asset_id"))

    op.drop_table("identifiers")
    with op.batch_alter_table("receivers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receivers_zone_id"))

    op.drop_table("receivers")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assets_state"))
        batch_op.drop_index(batch_op.f("ix_assets_next_ppm_due"))
        batch_op.drop_index(batch_op.f("ix_assets_home_zone_id"))
        batch_op.drop_index(batch_op.f("ix_assets_class_id"))

    op.drop_table("assets")
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zones_site_id"))
        batch_op.drop_index(batch_op.f("ix_zones_parent_id"))
        batch_op.drop_index(batch_op.f("ix_zones_floor_id"))

    op.drop_table("zones")
    with op.batch_alter_table("floors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_floors_building_id"))

    op.drop_table("floors")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tokens_user_id"))

    op.drop_table("tokens")
    with op.batch_alter_table("buildings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buildings_site_id"))

    op.drop_table("buildings")
    op.drop_table("users")
    op.drop_table("sites")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_entity")
        batch_op.drop_index(batch_op.f("ix_audit_entries_at"))

    op.drop_table("audit_entries")
    op.drop_table("asset_classes")
