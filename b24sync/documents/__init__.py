"""Documents that flow from Bitrix24 to 1C: deals → customer orders, qualified leads → interests.

Each flow is the same pipeline as counterparties, kept in its own modules: :mod:`.stages` resolves
the configured triggers, :mod:`.catalog` reads the 1C reference data an order needs,
:mod:`.products` maps Bitrix24 products to 1C nomenclature, :mod:`.deals` and :mod:`.leads` plan
the operations (or list the record with the reason it cannot be sent), :mod:`.flow` runs both for
a reconciliation, and :mod:`.write` is what apply calls to write them.
"""
