"""The session's view: the frozen snapshot the screen draws, made from the person's parts.

Pure: the step, the person and the catalogue in, a ``SessionView`` out. The identify screen's
recent producers are read from the database before that step is entered (off the event loop)
and only read back here.
"""

from __future__ import annotations

from ..kits import Catalogue
from ..producers import KnownProducer
from .config import SessionConfig
from .panel import extra_choices
from .person import Person
from .steps import (
    AnalyteResult,
    CertificateView,
    Notice,
    ProducerView,
    SessionView,
    Step,
    TestView,
)
from .units import units_for

TEST_STEPS = frozenset({Step.PREPARE, Step.INSERT, Step.INCUBATING, Step.SCORING, Step.RETEST,
                        Step.ERROR})
"""The steps that show the cassette under way."""


def producer_view(producer: KnownProducer, *, masked: bool) -> ProducerView:
    return ProducerView(
        producer_id=producer.producer_id,
        display_name=producer.masked_name if masked else producer.name,
        phone_tail=producer.masked_phone,
        has_pin=producer.has_pin,
    )


def make_view(*, version: int, step: Step, notice: Notice | None, person: Person,
              catalogue: Catalogue, config: SessionConfig,
              recent: tuple[ProducerView, ...]) -> SessionView:
    """Everything the screen needs to draw ``step`` for ``person``."""
    who, lot, run = person.identity, person.lot, person.testing
    product = catalogue.products.get(lot.product_code or "")
    test = None
    if step in TEST_STEPS and run is not None:
        progress = run.progress
        test = TestView(
            index=run.index, total=len(run.plan), kit_id=run.planned.kit_id,
            analytes=run.analytes or run.planned.analytes, attempt=run.attempt,
            max_attempts=config.max_attempts, prep_steps=run.prep_steps,
            prep_index=run.prep_index,
            phase=progress.phase.value if progress else None,
            remaining_s=progress.remaining_s if progress else None,
            total_s=progress.total_s if progress else None,
        )
    required = list(product.analytes) if product else []
    panel = lot.panel(required)
    readings = lot.readings
    results = tuple(
        AnalyteResult(
            analyte=a,
            call=readings.results[a].call.value if a in readings.results else None,
            reason_codes=readings.reason_codes.get(a, ()),
            attempts=readings.attempts.get(a, 0),
            t_c_ratio=readings.results[a].t_c_ratio if a in readings.results else None,
        )
        for a in panel
    ) if run is not None or readings.results else ()
    cert = None
    if person.issued is not None:
        c = person.issued.certificate
        cert = CertificateView(
            token=c.token, serial=c.serial, verify_url=c.verify_url,
            product_code=c.product_code, quantity=c.quantity, unit=lot.unit or "",
            promisor_name=c.promisor_name, issued_at=c.issued_at.isoformat(),
            print_status=person.issued.print_status, voided=lot.state.voided,
        )
    return SessionView(
        version=version,
        step=step,
        language=person.language,
        notice=notice,
        producer=producer_view(who.producer, masked=False) if who.producer else None,
        pin_for=producer_view(who.pin_candidate, masked=True) if who.pin_candidate else None,
        recent=recent if step is Step.IDENTIFY else (),
        origins=config.origins if step is Step.REGISTER else (),
        product_code=lot.product_code,
        quantity=lot.quantity,
        unit=lot.unit,
        units=units_for(product.category) if product else (),
        correcting=lot.state.correcting,
        panel_required=tuple(required),
        panel_extras=tuple(lot.extras),
        extra_choices=tuple(extra_choices(catalogue, product.code))
        if product and step is Step.PANEL else (),
        test=test,
        tests_done=run.index if run is not None else 0,
        results=results,
        refusals=person.refusals,
        error_code=person.error_code,
        error_key=person.error_key,
        certificate=cert,
    )
