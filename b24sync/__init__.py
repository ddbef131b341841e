"""b24sync: keep Bitrix24 and 1C:CRM consistent, showing the plan before writing."""

__version__ = "0.1.0"
