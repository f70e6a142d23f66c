from lorakit.data.pdf.gate import gate, heuristic_problem
from lorakit.data.pdf.qa import (REFUSAL, agent_questions, is_agent, number_questions, rule_questions, synthesize,
                                 table_questions)


CTX = "Full-time employees receive 25 working days of paid annual leave per calendar year."


def test_number_and_table_questions_are_answered_from_the_text():
    assert number_questions(CTX) == [  # fronted as a reader asks, the "of" phrase kept with its quantity
        ("How many working days of paid annual leave do full-time employees receive per calendar year?",
         "25 working days")]
    assert number_questions("Employees must notify their manager before 10:00 on the first day.") == [
        ("By what time must employees notify their manager on the first day?", "10:00")]
    assert number_questions("Overtime must be taken within 3 months.") == [
        ("Within how many months must overtime be taken?", "3 months")]  # the preposition moves with it
    assert number_questions("All travel is booked through the TravelDesk portal.") == [
        ("Through which system is all travel booked?", "TravelDesk")]
    assert agent_questions("Incidents must be reported to the Security Desk within 1 hour.") == [
        ("To whom must incidents be reported within 1 hour?", "Security Desk")]
    assert agent_questions("Employees who are unwell must notify their line manager.") == [
        ("Who must employees who are unwell notify?", "line manager")]
    assert agent_questions("Claims above EUR 1,000 need the approval of the department head.") == [
        ("Who do claims above EUR 1,000 need the approval of?", "department head")]
    assert agent_questions("The line manager must respond to a request within 3 working days.") == [
        ("Who must respond to a request within 3 working days?", "line manager")]  # the subject of an active rule
    assert agent_questions("Complaints are submitted in writing to the Works Council.") == [
        ("To whom are complaints submitted in writing?", "Works Council")]
    # an agent is a person or a body by its form, not by a list of roles
    assert [is_agent(p) for p in ("Security Operations Centre", "records custodian", "base name", "boot loader")] == [
        True, True, False, False]
    assert agent_questions("/bin contains commands that may be used by both the system administrator.") == []
    # where fronting is not safe (a comma before the number), the sentence keeps its order
    assert number_questions("If late, staff pay 5 euros.") == [("If late, staff pay how many euros?", "5 euros")]
    table = "| Leave type | Days per year |\n|---|---|\n| Sick leave | 10 paid |"
    assert table_questions(table) == [("What is the days per year for sick leave?", "10 paid")]


def test_rules_become_yes_no_questions_and_definitions_how_questions():
    assert rule_questions("Personal software may not be installed on company laptops.") == [
        ("May personal software be installed on company laptops?", "No")]
    assert rule_questions("Resignations must be sent to the line manager.") == [
        ("Must resignations be sent to the line manager?", "Yes")]  # no other agent in the document: no swap
    others = ["line manager", "data steward"]  # the agents of the same document
    (q, a), (q2, a2) = rule_questions("Resignations must be sent to the line manager.", others)
    assert (q, a) == ("Must resignations be sent to the line manager?", "Yes")
    assert (q2, a2) == ("Must resignations be sent to the data steward?", "No")  # another agent of the same document
    assert rule_questions("Passwords must be long and are changed every year.") == []  # two clauses: skipped
    assert rule_questions("Company information is classified as public or restricted.") == [
        ("How is company information classified?", "public or restricted")]
    ok = {"question": "May cash gifts be accepted?", "answer": "No", "context": "Cash gifts may never be accepted."}
    assert heuristic_problem(ok) is None  # yes/no answers need not appear in the text


def test_unanswerable_questions_avoid_topics_the_chunk_covers():
    chunk = {"id": "c1", "text": CTX + " Requests need approval from the line manager.", "headings": ["2. Annual leave"],
             "section": "2"}
    rows = synthesize([chunk], unanswerable_share=0.5)
    refusals = [r for r in rows if not r["answerable"]]
    assert refusals and all(r["answer"] == REFUSAL for r in refusals)
    assert not any("approve" in r["question"] for r in refusals)  # the chunk says who approves


def test_heuristics_name_the_rule_each_row_breaks():
    ok = {"question": "How many days of annual leave do full-time employees get?", "answer": "25 working days",
          "context": CTX}
    assert heuristic_problem(ok) is None
    assert heuristic_problem({**ok, "question": "Annual leave days."}) == "not a question (no '?')"
    assert heuristic_problem({**ok, "answer": "30 days plus a bonus"}) == "answer not grounded in its context"
    assert heuristic_problem({**ok, "answer": REFUSAL, "context": ""}) is None
    assert heuristic_problem({**ok, "answer": "annual leave"}) == "answer repeats the question"


def test_gate_splits_by_section_and_records_every_drop(tmp_path):
    import json

    topics = ["annual", "sick", "parental", "study", "bereavement", "unpaid", "jury", "volunteer", "moving",
              "wedding", "exam", "sabbatical", "carer", "medical", "military", "religious", "training", "remote",
              "travel", "garden"]
    rows = [{"question": f"How many {t} leave days may a {t} requester take under {t} rules?", "answer": f"{i} days",
             "context": f"{t} leave: {i} days.", "section": str(1 + i % 5), "answerable": True}
            for i, t in enumerate(topics)]
    rows.append(dict(rows[0]))  # an exact duplicate
    rows.append({**rows[1], "question": "no question mark"})
    summary = gate(rows, tmp_path, eval_share=0.4, seed=1)
    kept = [json.loads(x) for x in (tmp_path / "kept.jsonl").read_text().splitlines()]
    dropped = [json.loads(x) for x in (tmp_path / "dropped.jsonl").read_text().splitlines()]
    assert summary["kept"] == len(kept) == 20 and len(dropped) == 2
    assert {d["reason"].split(" (")[0] for d in dropped} == {"exact duplicate", "not a question"}
    eval_sections = {r["section"] for r in kept if r["split"] == "eval"}
    assert eval_sections == set(summary["eval_sections"]) and len(eval_sections) == 2
    assert not eval_sections & {r["section"] for r in kept if r["split"] == "train"}


def test_an_answer_from_the_heading_path_is_grounded():
    """The model is shown the excerpt's heading path ("5.9. /var/lock : Lock files"), so an answer may come from it."""
    row = {"question": "What is /var/lock for?", "answer": "Lock files", "context": "Serial devices are locked here.",
           "headings": ["Filesystem Hierarchy Standard", "5.9. /var/lock : Lock files"]}
    assert heuristic_problem(row) is None
    assert heuristic_problem({**row, "headings": []}) == "answer not grounded in its context"
