"""RH at any size: the `employee_cells` aggregates (department × age × completed year of
experience) that every RH number reads, their sparse counts (`employee_cell_counts`) and the
cumulative `employee_bins` of the histogram and density view, filled from the employees already
loaded; and two indexes on `employees` for what still reads rows (the table page, the points of
a small population, the bounding box of a box or lasso on the scatter).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "employee_cells",
        sa.Column("department", sa.String(64), primary_key=True),
        sa.Column("age", sa.Integer, primary_key=True),
        sa.Column("experience_year", sa.Integer, primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
        *(
            sa.Column(name, sa.Float, nullable=False)
            for name in (
                "salary_sum",
                "salary_min",
                "salary_max",
                "performance_sum",
                "performance_sq_sum",
                "performance_min",
                "performance_max",
                "satisfaction_sum",
                "performance_salary_sum",
            )
        ),
    )
    op.create_table(
        "employee_cell_counts",
        sa.Column("department", sa.String(64), primary_key=True),
        sa.Column("age", sa.Integer, primary_key=True),
        sa.Column("experience_year", sa.Integer, primary_key=True),
        sa.Column("salary_bins", sa.LargeBinary, nullable=False),
        sa.Column("density", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "employee_bins",
        sa.Column("department", sa.String(64), primary_key=True),
        sa.Column("age", sa.Integer, primary_key=True),
        sa.Column("experience_year", sa.Integer, primary_key=True),
        sa.Column("salary_low", sa.Float, nullable=False),
        sa.Column("salary_width", sa.Float, nullable=False),
        sa.Column("counts", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_employees_cohort", "employees", ["department", "age", "experience_years"])
    op.create_index(
        "ix_employees_scatter",
        "employees",
        ["performance", "salary", "department", "age", "experience_years", "satisfaction"],
    )
    # the employees loaded before this version: counted once, here (the same code as a rebuild)
    from dashhub.services.employee_cells import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_employees_scatter", table_name="employees")
    op.drop_index("ix_employees_cohort", table_name="employees")
    op.drop_table("employee_bins")
    op.drop_table("employee_cell_counts")
    op.drop_table("employee_cells")
