"""A workflow conversation's checkpoint, kept in the host's session state.

A turn of a hosted workflow runs against Agent Framework's own
`FileCheckpointStorage` in a private temporary directory: the conversation's
latest checkpoint is written there before the run, and the workflow's newest
checkpoint is read back into session state after it. So checkpoints use Agent
Framework's own encoding (JSON, with pickled values restricted on load to its
safe types, its own types and the ones registered with
`agent_framework.register_checkpoint_type` or named in
``allowed_checkpoint_types``), and they live in the host's Store, under the
conversation (or the response of a ``previous_response_id`` chain), like the
rest of the session state. Only the latest checkpoint is kept: a turn restores
it and moves on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from agent_framework import FileCheckpointStorage, WorkflowCheckpoint
from agent_framework.exceptions import WorkflowCheckpointException

logger = logging.getLogger("hosting.agent_framework")

WORKFLOW_KEY = "workflow"


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class ConversationCheckpoints:
    """Checkpoint storage for one turn of one workflow conversation (an async context manager).

    Args:
        state: the adapter's part of the run's session state; the latest checkpoint is kept under
            ``state["workflow"]``.
        allowed_types: extra ``"module:qualname"`` types a checkpoint may contain.
    """

    def __init__(self, state: dict[str, Any], *, allowed_types: Sequence[str] = ()) -> None:
        self.state = state
        self.allowed_types = list(allowed_types)
        self._directory: Path | None = None
        self._storage: FileCheckpointStorage | None = None

    @property
    def storage(self) -> FileCheckpointStorage:
        """The storage to hand the workflow for this turn."""
        if self._storage is None:
            raise RuntimeError("ConversationCheckpoints is used outside its 'async with' block")
        return self._storage

    async def __aenter__(self) -> ConversationCheckpoints:
        self._directory = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="hosting-af-"))
        stored = self.state.get(WORKFLOW_KEY)
        if isinstance(stored, dict) and isinstance(stored.get("checkpoint_id"), str):
            target = self._path(stored["checkpoint_id"])
            if target is not None:
                await asyncio.to_thread(_write_json, target, stored.get("checkpoint"))
        self._storage = FileCheckpointStorage(self._directory, allowed_checkpoint_types=self.allowed_types)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        directory, self._directory, self._storage = self._directory, None, None
        if directory is not None:
            await asyncio.to_thread(shutil.rmtree, directory, True)

    def _path(self, checkpoint_id: str) -> Path | None:
        """The file of a checkpoint id, or None for an id that would leave the directory."""
        if self._directory is None:
            return None
        path = (self._directory / f"{checkpoint_id}.json").resolve()
        return path if path.parent == self._directory.resolve() else None

    @property
    def stored_id(self) -> str | None:
        """The id of the conversation's latest checkpoint, if it has one."""
        stored = self.state.get(WORKFLOW_KEY)
        if isinstance(stored, dict) and isinstance(stored.get("checkpoint_id"), str):
            return str(stored["checkpoint_id"])
        return None

    async def latest(self, workflow_name: str) -> WorkflowCheckpoint | None:
        """The conversation's latest checkpoint, restorable into a workflow named `workflow_name`.

        A conversation whose stored checkpoint yields nothing (it cannot be read, it
        belongs to another workflow) is logged as a warning and starts afresh.
        """
        checkpoint_id = self.stored_id
        if checkpoint_id is None:
            return None
        try:
            checkpoint = await self.storage.load(checkpoint_id)
        except WorkflowCheckpointException as error:
            logger.warning(
                "the latest checkpoint %s yields nothing (%s); starting afresh", checkpoint_id, error
            )
            return None
        if checkpoint.workflow_name != workflow_name:
            logger.warning(
                "the latest checkpoint %s belongs to workflow %r, not %r; starting afresh",
                checkpoint_id,
                checkpoint.workflow_name,
                workflow_name,
            )
            return None
        return checkpoint

    async def keep(self, checkpoint_id: str | None, workflow_name: str) -> None:
        """Keep checkpoint `checkpoint_id` (or the newest of `workflow_name`) as the conversation's latest."""
        if checkpoint_id is None:
            newest = await self.storage.get_latest(workflow_name=workflow_name)
            if newest is None:
                logger.warning(
                    "workflow %r made no checkpoint this turn; the conversation keeps its last one",
                    workflow_name,
                )
                return
            checkpoint_id = newest.checkpoint_id
        path = self._path(checkpoint_id)
        if path is None or not await asyncio.to_thread(path.exists):
            logger.warning(
                "checkpoint %s of workflow %r was not saved; the conversation keeps its last one",
                checkpoint_id,
                workflow_name,
            )
            return
        encoded = await asyncio.to_thread(_read_json, path)
        self.state[WORKFLOW_KEY] = {
            "name": workflow_name,
            "checkpoint_id": checkpoint_id,
            "checkpoint": encoded,
        }
