"""``python -m parkops_tools.run_dag``: telling a run held by the quality gate from a failed one."""

from __future__ import annotations

from parkops_tools.run_dag import held_message

GATE_ERROR = (
    "AirflowFailException: 质量闸门扣留 企业登记（registrations）1 个批次：2025-03-09；"
    "这些交付的数据未进入 core / mart（处理：README「Runbook: a held batch」，DAG release_held_batch）\n"
)


def test_a_run_that_loaded_and_failed_only_at_the_gate_is_held():
    states = [("resolve_delivery_range", "SUCCESS"), ("ingest_files", "SUCCESS"), ("check_quality_gate", "FAILED")]
    assert held_message(GATE_ERROR, states).startswith("质量闸门扣留 企业登记（registrations）1 个批次：2025-03-09；")


def test_a_run_whose_load_failed_is_not_held_even_if_a_gate_message_was_logged():
    assert held_message(GATE_ERROR, [("ingest_files", "FAILED")]) is None
    assert held_message(GATE_ERROR, [("ingest_files", "SUCCESS"), ("build_data_docs", "FAILED")]) is None


def test_a_failed_gate_without_its_message_is_not_taken_for_a_hold():
    states = [("ingest_files", "SUCCESS"), ("check_quality_gate", "FAILED")]
    assert held_message("Traceback: KeyError: 'held'\n", states) is None


def test_task_states_are_read_from_airflow_3s_dag_test_log():
    from parkops_tools.run_dag import task_states

    log = "\n".join(
        [
            "[info] [DAG TEST] running task <TaskInstance: ingest_visit_logs.ingest_files manual__2025 "
            "[TaskInstanceState.SCHEDULED] ti_id=01a2-aa>",
            "[info] Task instance state updated  loc=x rows_affected=1 ti_id=01a2-aa",
            "[info] Task instance state updated  loc=x new_state=success rows_affected=1 ti_id=01a2-aa",
            "[info] [DAG TEST] running task <TaskInstance: ingest_visit_logs.check_quality_gate manual__2025 "
            "[TaskInstanceState.SCHEDULED] ti_id=01a2-bb>",
            "[info] Task instance state updated  loc=x new_state=failed rows_affected=1 ti_id=01a2-bb",
        ]
    )
    assert task_states(log) == [("ingest_files", "SUCCESS"), ("check_quality_gate", "FAILED")]
    assert held_message(log + "\n" + GATE_ERROR, task_states(log)) is not None
