"""trading state: bots, account snapshots, orders, fills, positions, trades, signals, risk events

Revision ID: 0002_trading_state
Revises: 0001_backtest_runs
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_trading_state"
down_revision = "0001_backtest_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bots',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('strategy', sa.String(length=200), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('symbols', sa.JSON(), nullable=False),
    sa.Column('timeframe', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('starting_cash', sa.String(length=64), nullable=False),
    sa.Column('cash', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=20), nullable=False),
    sa.Column('cursor_index', sa.Integer(), nullable=False),
    sa.Column('cursor_ts', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('account_snapshots',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('bar_index', sa.Integer(), nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.Column('cash', sa.String(length=64), nullable=False),
    sa.Column('equity', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_account_snapshots_bot_id'), 'account_snapshots', ['bot_id'], unique=False)
    op.create_table('fills',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('venue', sa.String(length=100), nullable=False),
    sa.Column('trade_id', sa.String(length=200), nullable=False),
    sa.Column('client_order_id', sa.String(length=200), nullable=False),
    sa.Column('symbol', sa.String(length=100), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('price', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.String(length=64), nullable=False),
    sa.Column('fee', sa.String(length=64), nullable=False),
    sa.Column('fee_currency', sa.String(length=20), nullable=False),
    sa.Column('liquidity', sa.String(length=10), nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('venue', 'trade_id', name='uq_fills_venue_trade')
    )
    op.create_index(op.f('ix_fills_bot_id'), 'fills', ['bot_id'], unique=False)
    op.create_index(op.f('ix_fills_client_order_id'), 'fills', ['client_order_id'], unique=False)
    op.create_table('orders',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('client_order_id', sa.String(length=200), nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('symbol', sa.String(length=100), nullable=False),
    sa.Column('venue', sa.String(length=50), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('quantity', sa.String(length=64), nullable=True),
    sa.Column('price', sa.String(length=64), nullable=True),
    sa.Column('trigger_price', sa.String(length=64), nullable=True),
    sa.Column('trailing_offset', sa.String(length=64), nullable=True),
    sa.Column('trailing_offset_type', sa.String(length=10), nullable=True),
    sa.Column('notional', sa.String(length=64), nullable=True),
    sa.Column('all_cash', sa.Boolean(), nullable=False),
    sa.Column('reduce_only', sa.Boolean(), nullable=False),
    sa.Column('tif', sa.String(length=10), nullable=False),
    sa.Column('expire_ts', sa.BigInteger(), nullable=True),
    sa.Column('parent_id', sa.String(length=200), nullable=True),
    sa.Column('linked_ids', sa.JSON(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('strategy_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('filled_qty', sa.String(length=64), nullable=False),
    sa.Column('avg_price', sa.String(length=64), nullable=True),
    sa.Column('fees', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('bar_index', sa.Integer(), nullable=False),
    sa.Column('ts_init', sa.BigInteger(), nullable=False),
    sa.Column('ts_last', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_order_id')
    )
    op.create_index(op.f('ix_orders_bot_id'), 'orders', ['bot_id'], unique=False)
    op.create_table('positions',
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('symbol', sa.String(length=100), nullable=False),
    sa.Column('quantity', sa.String(length=64), nullable=False),
    sa.Column('avg_price', sa.String(length=64), nullable=True),
    sa.Column('cost', sa.String(length=64), nullable=False),
    sa.Column('realized_pnl', sa.String(length=64), nullable=False),
    sa.Column('fees', sa.String(length=64), nullable=False),
    sa.Column('ts_last', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('bot_id', 'symbol')
    )
    op.create_table('risk_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=50), nullable=False),
    sa.Column('rule', sa.String(length=100), nullable=True),
    sa.Column('client_order_id', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bot_id', 'seq', name='uq_risk_events_bot_seq')
    )
    op.create_index(op.f('ix_risk_events_bot_id'), 'risk_events', ['bot_id'], unique=False)
    op.create_table('signals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('bar_index', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('symbol', sa.String(length=100), nullable=True),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('quantity', sa.String(length=64), nullable=True),
    sa.Column('notional', sa.String(length=64), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('client_order_id', sa.String(length=200), nullable=True),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bot_id', 'seq', name='uq_signals_bot_seq')
    )
    op.create_index(op.f('ix_signals_bot_id'), 'signals', ['bot_id'], unique=False)
    op.create_table('trades',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('symbol', sa.String(length=100), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('entry_ts', sa.BigInteger(), nullable=False),
    sa.Column('exit_ts', sa.BigInteger(), nullable=True),
    sa.Column('quantity', sa.String(length=64), nullable=False),
    sa.Column('entry_price', sa.String(length=64), nullable=True),
    sa.Column('exit_price', sa.String(length=64), nullable=True),
    sa.Column('fees', sa.String(length=64), nullable=False),
    sa.Column('realized_pnl', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bot_id', 'seq', name='uq_trades_bot_seq')
    )
    op.create_index(op.f('ix_trades_bot_id'), 'trades', ['bot_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_trades_bot_id'), table_name='trades')
    op.drop_table('trades')
    op.drop_index(op.f('ix_signals_bot_id'), table_name='signals')
    op.drop_table('signals')
    op.drop_index(op.f('ix_risk_events_bot_id'), table_name='risk_events')
    op.drop_table('risk_events')
    op.drop_table('positions')
    op.drop_index(op.f('ix_orders_bot_id'), table_name='orders')
    op.drop_table('orders')
    op.drop_index(op.f('ix_fills_client_order_id'), table_name='fills')
    op.drop_index(op.f('ix_fills_bot_id'), table_name='fills')
    op.drop_table('fills')
    op.drop_index(op.f('ix_account_snapshots_bot_id'), table_name='account_snapshots')
    op.drop_table('account_snapshots')
    op.drop_table('bots')
